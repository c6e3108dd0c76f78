"""Golden fixtures for src/models/resnet, replayed by test/models/resnet.test.ts.

Run with `npm run fixtures` (or node scripts/python.mjs scripts/gen_fixtures_models_resnet.py).
Writes test/fixtures/models/resnet.json.gz (tensors in scripts/gen_fixtures.py's encoding).

torchvision is not installable next to the CPU torch here, so the reference ResNet below restates
torchvision's (v1.5 Bottleneck, same module names, construction and init order), and the
attention pool is CLIP's AttentionPool2d as PRIOR uses it (spec §1.2).

Weights are far too large to commit, so nothing model-sized is stored: the test rebuilds the
same weights with the same seeded draws (`fill_seeded`, `seeded`; both sides run the same
libtorch generator). Stored: state dict keys/shapes, per-key sums of the seeded initialisation,
outputs and input gradients of a random cotangent.
"""

import gzip
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_fixtures import enc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "models" / "resnet.json.gz"


# ---- torchvision's ResNet (torchvision/models/resnet.py, restated) ----------------------------

def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False)


def conv1x1(i, o, stride=1):
    return nn.Conv2d(i, o, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)  # v1.5: the stride is here
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, in_channels=3):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


ARCHS = {18: (BasicBlock, [2, 2, 2, 2]), 50: (Bottleneck, [3, 4, 6, 3])}


def resnet(depth, **kw):
    block, layers = ARCHS[depth]
    return ResNet(block, layers, **kw)


# ---- CLIP's AttentionPool2d (CLIP/clip/model.py), used by PRIOR -------------------------------

class AttentionPool2d(nn.Module):
    def __init__(self, spacial_dim, embed_dim, num_heads, output_dim=None):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim or embed_dim)
        self.num_heads = num_heads

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(2, 0, 1)  # NCHW -> (HW)NC
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)  # (HW+1)NC
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        x, _ = F.multi_head_attention_forward(
            query=x, key=x, value=x,
            embed_dim_to_check=x.shape[-1],
            num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0,
            out_proj_weight=self.c_proj.weight, out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True, training=self.training, need_weights=False,
        )
        return x[0]


# ---- PRIOR's image encoder (spec §1), restated ------------------------------------------------

class PriorImageEncoder(nn.Module):
    def __init__(self, spatial, heads=8):
        super().__init__()
        self.encoder = resnet(50, in_channels=1)
        self.encoder.fc = nn.Identity()
        self.atten_pool = AttentionPool2d(spatial, 2048, heads)

    def forward(self, x):
        f = self.encoder.features(x)
        b, c, h, w = f.shape
        # Spec §1.3: the released plain reshape, no permute.
        return self.atten_pool(f), f.reshape(b, h * w, c), f.flatten(2).transpose(1, 2)


# ---- seeded data, mirrored by the test ----------------------------------------------------

def seeded(seed, *shape):
    torch.manual_seed(seed)
    return torch.randn(*shape)


def fill_seeded(module, seed, keep_scalars=False):
    """Every floating state entry from one seeded stream, in state dict order, scaled to keep a
    deep eval-mode net's activations moderate (test/models/resnet.test.ts: fillSeeded).
    keep_scalars: 0-d entries keep their value and draw nothing (PRIOR's logit scales)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for key, t in module.state_dict().items():
            if not t.is_floating_point() or (keep_scalars and t.dim() == 0):
                continue
            n = torch.randn(*t.shape)
            if t.dim() >= 2:
                n = n * (1 / math.sqrt(t[0].numel()))
            elif key.endswith("running_var"):
                n = n.abs() * 0.1 + 1
            elif key.endswith(".weight"):
                n = n * 0.1 + 1
            else:
                n = n * 0.1
            t.copy_(n)


def fingerprint(module):
    """Per key: [sum, sum of squares] in float64, to check the seeded initialisation."""
    return [[k, [t.double().sum().item(), t.double().square().sum().item()]] for k, t in module.state_dict().items()]


def keys(module):
    return [[k, list(t.shape), str(t.dtype).removeprefix("torch.")] for k, t in module.state_dict().items()]


def output_and_input_grad(module, x, cot_seed):
    """Outputs (a tensor or a tuple) and d(sum(out * cotangent))/dx, cotangents seeded in order."""
    x = x.clone().requires_grad_(True)
    out = module(x)
    outs = out if isinstance(out, tuple) else (out,)
    torch.manual_seed(cot_seed)
    loss = sum((o * torch.randn(*o.shape)).sum() for o in outs)
    loss.backward()
    return [enc(o) for o in outs], enc(x.grad)


def resnet_case(depth, size):
    torch.manual_seed(0)
    m = resnet(depth)
    case = {"depth": depth, "initSeed": 0, "init": fingerprint(m), "keys": keys(m)}
    fill_seeded(m, 1)
    m.eval()
    case |= {"weightSeed": 1, "inputSeed": 2, "inputShape": [2, 3, size, size], "cotSeed": 3}
    case["outputs"], case["inputGrad"] = output_and_input_grad(m, seeded(2, 2, 3, size, size), 3)
    return case


def attention_pool_case():
    torch.manual_seed(0)
    m = AttentionPool2d(3, 64, 4, 32)
    case = {"grid": 3, "width": 64, "heads": 4, "outputDim": 32, "initSeed": 0, "init": fingerprint(m), "keys": keys(m)}
    fill_seeded(m, 1)
    case |= {"weightSeed": 1, "inputSeed": 2, "inputShape": [2, 64, 3, 3], "cotSeed": 3}
    case["outputs"], case["inputGrad"] = output_and_input_grad(m, seeded(2, 2, 64, 3, 3), 3)
    return case


def prior_case(size):
    """ImageNet-style RGB weights adapted to one channel (conv1 summed over its input channels)."""
    rgb = resnet(50)
    fill_seeded(rgb, 1)
    m = PriorImageEncoder(spatial=2)
    sd = {k: v for k, v in rgb.state_dict().items() if not k.startswith("fc.")}
    sd["conv1.weight"] = sd["conv1.weight"].sum(dim=1, keepdim=True)
    m.encoder.load_state_dict(sd)
    fill_seeded(m.atten_pool, 4)
    m.eval()
    case = {"imageSize": size, "rgbSeed": 1, "poolSeed": 4, "inputSeed": 2, "inputShape": [2, 1, size, size], "cotSeed": 3, "keys": keys(m)}
    case["outputs"], case["inputGrad"] = output_and_input_grad(m, seeded(2, 2, 1, size, size), 3)
    return case


def prior_checkpoint_keys():
    """Spec §12.1 prior_resnet50.pt: torchvision ResNet-50 keys, 1-channel conv1, no fc."""
    m = resnet(50, in_channels=1)
    m.fc = nn.Identity()
    entries = keys(m)
    assert len(entries) == 318, len(entries)
    params = sum(p.numel() for p in m.parameters())
    assert params == 23_501_760, params
    return entries


def main():
    torch.set_num_threads(1)
    fixtures = {
        "resnet18": resnet_case(18, 64),
        "resnet50": resnet_case(50, 64),
        "attentionPool": attention_pool_case(),
        "prior": prior_case(64),
        "priorCheckpointKeys": prior_checkpoint_keys(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(json.dumps(fixtures).encode(), mtime=0))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
