"""Hungarian matching of the detection head: position, size and heading decide; velocity does not."""

import torch

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.detection import DetectionHead, DetectionOutput, encode_boxes


def _head() -> DetectionHead:
    return DetectionHead(hidden=8, task=OneDriveTaskConfig())


def _codes(boxes: list[list[float]]) -> torch.Tensor:
    return encode_boxes(torch.tensor(boxes, dtype=torch.float32))  # (N, 10)


GT = [[10.0, 0.0, 0.8, 4.6, 1.9, 1.7, 0.0, 8.0, 0.0]]  # one car at 10 m, driving 8 m/s along x
ON_THE_BOX_STANDING = [10.0, 0.0, 0.8, 4.6, 1.9, 1.7, 0.0, 0.0, 0.0]  # right place, velocity guessed 0
OFF_BY_2M_MOVING = [12.0, 0.0, 0.8, 4.6, 1.9, 1.7, 0.0, 8.0, 0.0]  # 2 m away, velocity exactly right


def test_the_query_on_the_box_is_matched_whatever_its_velocity():
    head = _head()
    logits = torch.zeros(2, len(head.task.det_classes))  # same class scores: only the box cost decides
    rows, cols = head.match(logits, _codes([OFF_BY_2M_MOVING, ON_THE_BOX_STANDING]), _codes(GT), torch.tensor([0]))
    assert rows.tolist() == [1] and cols.tolist() == [0]
    # With velocity in the cost (8 m/s x weight 1 against 2 m x weight 2) the moving query would have won.
    assert 8.0 * head.task.box_code_weights[8] > 2.0 * head.task.box_code_weights[0]


def test_the_loss_still_regresses_velocity_on_the_matched_query():
    head = _head()
    codes = _codes([OFF_BY_2M_MOVING, ON_THE_BOX_STANDING])[None]  # (1, 2, 10)
    output = DetectionOutput(torch.zeros(1, 2, len(head.task.det_classes)), codes)
    losses = head.loss(output, [torch.tensor(GT)], [torch.tensor([0])])
    # Matched: the standing query, whose only error is vx = 8 m/s (code weight 1), normalised by 1 box.
    expected = head.task.det_box_weight * 8.0 * head.task.box_code_weights[8]
    torch.testing.assert_close(losses["det_box"], torch.tensor(expected))
