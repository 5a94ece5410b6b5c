"""PyTorch definitions of U^2-Net (U2NET) and U^2-Net-lite (U2NETP).

Written from the paper (Qin et al., "U^2-Net: Going Deeper with Nested U-Structure for Salient Object
Detection", 2020).  Module and parameter names follow the official checkpoints, so their ``state_dict`` loads
with ``strict=True``.  PyTorch is only needed to convert weights to OpenVINO; nothing at inference time imports
this module.

The residual U-blocks (RSU) are built from one generic class instead of five copies: ``RSU(height=7)`` is the
paper's RSU-7 and ``RSU4F`` is its dilated, pooling-free variant.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class REBNCONV(nn.Module):
    """3x3 convolution -> BatchNorm -> ReLU, with optional dilation (official name kept for the weight keys)."""

    def __init__(self, in_ch: int, out_ch: int, dirate: int = 1) -> None:
        super().__init__()
        self.conv_s1 = nn.Conv2d(in_ch, out_ch, 3, padding=dirate, dilation=dirate)
        self.bn_s1 = nn.BatchNorm2d(out_ch)
        self.relu_s1 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu_s1(self.bn_s1(self.conv_s1(x)))


def upsample_like(src: torch.Tensor, tar: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of ``src`` to ``tar``'s spatial size (align_corners=False, as upstream)."""
    return F.interpolate(src, size=tar.shape[2:], mode="bilinear", align_corners=False)


class RSU(nn.Module):
    """Residual U-block of the given height (RSU-4 … RSU-7).

    Encoder: ``rebnconv1 .. rebnconv{h-1}`` with 2x max-pooling between them, a dilated ``rebnconv{h}`` at the
    bottom, and a decoder ``rebnconv{h-1}d .. rebnconv1d`` that concatenates the matching encoder feature.
    """

    def __init__(self, height: int, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.height = height
        self.rebnconvin = REBNCONV(in_ch, out_ch)
        self.rebnconv1 = REBNCONV(out_ch, mid_ch)
        for i in range(2, height):
            setattr(self, f"rebnconv{i}", REBNCONV(mid_ch, mid_ch))
        setattr(self, f"rebnconv{height}", REBNCONV(mid_ch, mid_ch, dirate=2))
        for i in range(height - 1, 1, -1):
            setattr(self, f"rebnconv{i}d", REBNCONV(mid_ch * 2, mid_ch))
        self.rebnconv1d = REBNCONV(mid_ch * 2, out_ch)
        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.rebnconvin(x)
        skips = [self.rebnconv1(hxin)]
        for i in range(2, self.height):
            skips.append(getattr(self, f"rebnconv{i}")(self.pool(skips[-1])))
        hx = getattr(self, f"rebnconv{self.height}")(skips[-1])
        for i in range(self.height - 1, 0, -1):
            hx = getattr(self, f"rebnconv{i}d")(torch.cat((hx, skips[i - 1]), 1))
            if i > 1:
                hx = upsample_like(hx, skips[i - 2])
        return hx + hxin


class RSU4F(nn.Module):
    """RSU-4F: the dilated block used at the lowest resolutions, where pooling would lose too much."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.rebnconvin = REBNCONV(in_ch, out_ch)
        self.rebnconv1 = REBNCONV(out_ch, mid_ch, dirate=1)
        self.rebnconv2 = REBNCONV(mid_ch, mid_ch, dirate=2)
        self.rebnconv3 = REBNCONV(mid_ch, mid_ch, dirate=4)
        self.rebnconv4 = REBNCONV(mid_ch, mid_ch, dirate=8)
        self.rebnconv3d = REBNCONV(mid_ch * 2, mid_ch, dirate=4)
        self.rebnconv2d = REBNCONV(mid_ch * 2, mid_ch, dirate=2)
        self.rebnconv1d = REBNCONV(mid_ch * 2, out_ch, dirate=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.rebnconvin(x)
        hx1 = self.rebnconv1(hxin)
        hx2 = self.rebnconv2(hx1)
        hx3 = self.rebnconv3(hx2)
        hx4 = self.rebnconv4(hx3)
        hx3d = self.rebnconv3d(torch.cat((hx4, hx3), 1))
        hx2d = self.rebnconv2d(torch.cat((hx3d, hx2), 1))
        hx1d = self.rebnconv1d(torch.cat((hx2d, hx1), 1))
        return hx1d + hxin


class _U2NetBase(nn.Module):
    """The two-level U-structure shared by U2NET and U2NETP; subclasses only choose channel widths.

    ``forward`` returns the fused map followed by the six side outputs, all after the sigmoid, exactly as the
    official model does.
    """

    #: (in, mid, out) channels of stage1..stage6 and of stage5d..stage1d
    ENCODER: tuple[tuple[int, int, int], ...] = ()
    DECODER: tuple[tuple[int, int, int], ...] = ()

    def __init__(self, in_ch: int = 3, out_ch: int = 1) -> None:
        super().__init__()
        enc = ((in_ch,) + self.ENCODER[0][1:],) + self.ENCODER[1:]
        for i, (cin, mid, cout) in enumerate(enc, start=1):
            block = RSU4F(cin, mid, cout) if i >= 5 else RSU(8 - i, cin, mid, cout)
            setattr(self, f"stage{i}", block)
        for i, (cin, mid, cout) in zip(range(5, 0, -1), self.DECODER):
            block = RSU4F(cin, mid, cout) if i == 5 else RSU(8 - i, cin, mid, cout)
            setattr(self, f"stage{i}d", block)
        side_in = [self.DECODER[-1][2]] + [d[2] for d in reversed(self.DECODER[:-1])] + [self.ENCODER[-1][2]]
        for i, cin in enumerate(side_in, start=1):
            setattr(self, f"side{i}", nn.Conv2d(cin, out_ch, 3, padding=1))
        self.outconv = nn.Conv2d(6 * out_ch, out_ch, 1)
        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)

    def decode(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """The decoder's feature maps by stage, 1 (full size) to 6 (1/32): what the side convolutions read."""
        enc = [self.stage1(x)]
        for i in range(2, 7):
            enc.append(getattr(self, f"stage{i}")(self.pool(enc[-1])))
        dec = {6: enc[5]}
        for i in range(5, 0, -1):
            up = upsample_like(dec[i + 1], enc[i - 1])
            dec[i] = getattr(self, f"stage{i}d")(torch.cat((up, enc[i - 1]), 1))
        return dec

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        dec = self.decode(x)
        sides = [self.side1(dec[1])]
        for i in range(2, 7):
            sides.append(upsample_like(getattr(self, f"side{i}")(dec[i]), sides[0]))
        fused = self.outconv(torch.cat(sides, 1))
        return tuple(torch.sigmoid(t) for t in [fused, *sides])


class U2NET(_U2NetBase):
    """Full U^2-Net (44 M parameters, 176 MB checkpoint): ``u2net`` and ``u2net_human_seg``."""

    ENCODER = ((3, 32, 64), (64, 32, 128), (128, 64, 256), (256, 128, 512), (512, 256, 512), (512, 256, 512))
    DECODER = ((1024, 256, 512), (1024, 128, 256), (512, 64, 128), (256, 32, 64), (128, 16, 64))


class U2NETP(_U2NetBase):
    """U^2-Net-lite (1.13 M parameters, 4.7 MB checkpoint): the default ``u2net_lite``."""

    ENCODER = ((3, 16, 64),) + ((64, 16, 64),) * 5
    DECODER = ((128, 16, 64),) * 5


def bilinear_matrix(size_out: int, size_in: int) -> torch.Tensor:
    """``vbg.model.fuse.bilinear_matrix`` as a tensor: for a fixed size, ``upsample_like`` on an (h, w) map
    equals ``rows @ map @ cols.T``."""
    from .fuse import bilinear_matrix as matrix

    return torch.from_numpy(matrix(size_out, size_in))


class WeightedSides(nn.Module):
    """What vbg converts: the six side maps, each already multiplied by its weight in the fusing 1x1 convolution
    (the first with the bias added), before any resize.  Nothing in it depends on the input size, so one
    conversion with a dynamic input serves every size; ``vbg.model.fuse.fused_model`` adds the resize by matrix
    products, the sum and the sigmoid for each size.  Summed after that resize, the maps give exactly the
    network's fused output (the 1x1 convolution is a weighted sum, and resizing is linear).

    A network whose fusing convolution does not read six maps is returned whole: its fused map, one output."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        net = self.net
        if net.outconv.in_channels != 6:
            return (net(x)[0],)
        dec = net.decode(x)
        weights = net.outconv.weight.reshape(6)
        sides = [net.outconv.bias.reshape(1, 1, 1, 1) + weights[0] * net.side1(dec[1])]
        sides += [weights[i - 1] * getattr(net, f"side{i}")(dec[i]) for i in range(2, 7)]
        return tuple(sides)
