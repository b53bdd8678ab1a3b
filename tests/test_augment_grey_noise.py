"""Sensor noise keeps a grey picture grey: a model of "L" images is scored on equal channels, so
training it on per-channel noise showed it tinted pictures it never meets; colour pictures keep
their own noise per channel."""

import torch

from vision.augment import AugmentSpec, augment_batch


def test_noise_keeps_grey_images_grey_and_colours_independent():
    torch.manual_seed(0)
    grey = torch.rand(4, 1, 16, 16).expand(4, 3, 16, 16).clone()
    colour = torch.rand(4, 3, 16, 16)
    out = augment_batch(torch.cat([grey, colour]), AugmentSpec(noise=0.05))
    assert torch.equal(out[:4, 0], out[:4, 1]) and torch.equal(out[:4, 0], out[:4, 2])
    assert not torch.equal(out[:4], grey)  # the noise is there
    added = out[4:] - colour
    inside = (out[4:] > 0) & (out[4:] < 1)  # not clipped
    both = inside[:, 0] & inside[:, 1]
    assert (added[:, 0][both] - added[:, 1][both]).abs().mean() > 0.02
