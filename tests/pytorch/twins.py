"""PyTorch twins of Dsl declarations, run by tests/Dsl.Onnx.Tests/PyTorchTwinTests.cs with Debian's python3.

  python3 twins.py export DIR   each twin, seeded, batch norms given non-trivial statistics, in eval mode:
                                DIR/<Name>.torch.safetensors (its state_dict), DIR/<Name>.input.f32 (a batch of
                                inputs) and DIR/<Name>.torch-output.f32 (its outputs)
  python3 twins.py check DIR NAME   twin NAME loads DIR/NAME.dsl.safetensors (written by Dsl) with strict=True
                                    and runs DIR/NAME.dsl-input.f32: DIR/NAME.dsl-torch-output.f32
  python3 twins.py resnet18 DIR   torchvision's resnet18(), seeded, batch norms given non-trivial statistics:
                                  DIR/ResNet18.torch.safetensors, .input.f32 and .torch-output.f32 in eval mode as
                                  export writes them; then one SGD step (lr 0.1) of cross-entropy in train mode on
                                  DIR/ResNet18.train-input.f32 and .train-target.f32 (class indices as float32):
                                  DIR/ResNet18.train-output.f32 (its logits before the step), .train-loss.f32 and
                                  .torch-after-step.safetensors (the state_dict after the step), and the same step
                                  in float64: .torch64-after-step.safetensors (rounded to float32)
  python3 twins.py resnet18-check DIR   resnet18() loads DIR/ResNet18.dsl.safetensors with strict=True and runs
                                        DIR/ResNet18.dsl-input.f32 in eval mode: DIR/ResNet18.dsl-torch-output.f32

Weights travel as safetensors, written and read here with the standard library (the safetensors package is not
in Debian); inputs and outputs as raw little-endian float32 in the shapes of SHAPES. The classes are the ones
docs/pytorch.md shows; a new layer kind adds its twin here and to the C# test's list. ResNet-18 takes batches of
RESNET18_BATCH inputs of RESNET18_SHAPE and needs torchvision (Debian's python3-torchvision).
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune


class FashionMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(F.relu(self.fc2(F.relu(self.fc1(x)))))


class FashionCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.head(F.relu(self.fc1(torch.flatten(x, 1))))


class FeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.drop1 = nn.Dropout(0.1)
        self.fc2 = nn.Linear(128, 64)
        self.drop2 = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop2(self.fc2(self.drop1(F.gelu(self.fc1(x)))))


class EncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_norm = nn.LayerNorm(64)
        self.attn = nn.MultiheadAttention(64, 4, batch_first=True)
        self.mlp_norm = nn.LayerNorm(64)
        self.mlp = FeedForward()

    def forward(self, x):
        h = self.attn_norm(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.mlp_norm(x))


class VisionTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, 64, 7, stride=7)
        self.pos_embed = nn.Embedding(16, 64)
        self.blocks = nn.ModuleList(EncoderBlock() for _ in range(4))
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = x + self.pos_embed.weight
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))


class FashionResNet(nn.Module):
    """samples/ResNet's network from torchvision's BasicBlock: three stages of two blocks at 16, 32, 64 channels."""

    def __init__(self):
        super().__init__()
        from torchvision.models.resnet import BasicBlock

        def stage(inputs, outputs, stride):
            downsample = None if stride == 1 else nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False), nn.BatchNorm2d(outputs))
            return nn.Sequential(BasicBlock(inputs, outputs, stride, downsample), BasicBlock(outputs, outputs))

        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = stage(16, 16, 1)
        self.layer2 = stage(16, 32, 2)
        self.layer3 = stage(32, 64, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class MixtureOfExperts(nn.Module):
    """[MixtureOfExperts(Experts = n, TopK = k, Gate = ..., RouterBias = ...)] on a MixtureOfExperts<TBlock> member.

    Per row (a sample, or each token): the top-k experts by router logit, largest first and ties to the lower index
    (a stable descending sort; torch.topk leaves the order of ties unspecified); p = softmax over all n logits; the
    gates are the chosen p (Switch, Gate = Softmax) or those divided by their sum (Mixtral, Gate = TopKSoftmax);
    y = sum of gate * expert(x) over the chosen experts, each expert run only on the rows that chose it.
    """

    def __init__(self, dim, outputs, experts, top_k, expert, renormalize=False, router_bias=False):
        super().__init__()
        self.router = nn.Linear(dim, experts, bias=router_bias)     # moe.router.weight [n, d] (, moe.router.bias)
        self.experts = nn.ModuleList(expert() for _ in range(experts))  # moe.experts.{e}.fc1.weight, ...
        self.outputs, self.top_k, self.renormalize = outputs, top_k, renormalize

    def forward(self, x):
        rows = x.reshape(-1, x.shape[-1])
        logits = self.router(rows)
        chosen = torch.sort(logits, dim=-1, descending=True, stable=True).indices[:, :self.top_k]
        gates = F.softmax(logits, dim=-1).gather(-1, chosen)
        if self.renormalize:
            gates = gates / gates.sum(dim=-1, keepdim=True)
        y = rows.new_zeros(rows.shape[0], self.outputs)
        for e, expert in enumerate(self.experts):
            row, slot = (chosen == e).nonzero(as_tuple=True)
            if row.numel() > 0:
                y.index_add_(0, row, gates[row, slot].unsqueeze(-1) * expert(rows[row]))
        return y.reshape(*x.shape[:-1], self.outputs)


class MoeReluExpert(nn.Module):                    # [Block] MoeReluExpert
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 12)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class MoeSiluExpert(nn.Module):                    # [Block] MoeSiluExpert
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 12)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)))


class MixtureOfExpertsSwitch(nn.Module):          # flat [12]: 4 experts, top-2, Switch gates, then a head
    def __init__(self):
        super().__init__()
        self.moe = MixtureOfExperts(12, 12, 4, 2, MoeReluExpert)
        self.head = nn.Linear(12, 3)

    def forward(self, x):
        return self.head(self.moe(x))


class MixtureOfExpertsTokens(nn.Module):          # tokens [6, 12]: pre-norm residual around 4 experts top-2, Mixtral gates
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(12, 12)
        self.moe_norm = nn.LayerNorm(12)
        self.moe = MixtureOfExperts(12, 12, 4, 2, MoeSiluExpert, renormalize=True, router_bias=True)
        self.head = nn.Linear(12, 2)

    def forward(self, x):
        x = torch.tanh(self.embed(x))
        x = x + self.moe(self.moe_norm(x))
        return self.head(x)


TWINS = {"FashionMlp": FashionMlp, "FashionCnn": FashionCnn, "VisionTransformer": VisionTransformer, "FashionResNet": FashionResNet,
         "PrunedFashionMlp": FashionMlp, "MixtureOfExpertsSwitch": MixtureOfExpertsSwitch,
         "MixtureOfExpertsTokens": MixtureOfExpertsTokens}
SHAPES = {"FashionMlp": (784,), "FashionCnn": (1, 28, 28), "VisionTransformer": (1, 28, 28), "FashionResNet": (1, 28, 28),
          "PrunedFashionMlp": (784,), "MixtureOfExpertsSwitch": (12,), "MixtureOfExpertsTokens": (6, 12)}
# Twins pruned by torch.nn.utils.prune before export: L1-unstructured, this fraction of each hidden layer's weights.
PRUNED = {"PrunedFashionMlp": 0.9}
BATCH = 3
RESNET18_SHAPE = (3, 224, 224)
RESNET18_BATCH = 2
DTYPES = {"F32": torch.float32, "I64": torch.int64}


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().cpu().numpy().tobytes()
        dtype = next(k for k, v in DTYPES.items() if v == tensor.dtype)
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).clone()
    return tensors


def read_f32(path, shape, batch=BATCH):
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(batch, *shape).clone()


def write_f32(path, tensor):
    with open(path, "wb") as f:
        f.write(tensor.detach().contiguous().numpy().astype("<f4").tobytes())


def export(directory):
    for index, (name, twin) in enumerate(TWINS.items()):
        torch.manual_seed(1000 + index)
        model = twin()
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.5, 0.5)
                    module.running_mean.uniform_(-0.5, 0.5)
                    module.running_var.uniform_(0.5, 1.5)
                    module.num_batches_tracked.fill_(7)
                if isinstance(module, nn.MultiheadAttention):
                    module.in_proj_bias.uniform_(-0.2, 0.2)  # PyTorch starts them at zero
                    module.out_proj.bias.uniform_(-0.2, 0.2)
        if name in PRUNED:
            # prune keeps weight_orig and weight_mask, which a strict load (Dsl's, PyTorch's) rejects: prune.remove
            # leaves the plain weight with its zeros, the form a pruned state_dict is shared in.
            for layer in (model.fc1, model.fc2):
                torch.nn.utils.prune.l1_unstructured(layer, "weight", amount=PRUNED[name])
                torch.nn.utils.prune.remove(layer, "weight")
                with torch.no_grad():  # the kept weights carry the layer's variance, as fine-tuning leaves them
                    layer.weight.mul_((1 - PRUNED[name]) ** -0.5)
        model.eval()
        x = torch.randn(BATCH, *SHAPES[name])
        with torch.no_grad():
            y = model(x)
        save_safetensors(f"{directory}/{name}.torch.safetensors", model.state_dict())
        write_f32(f"{directory}/{name}.input.f32", x)
        write_f32(f"{directory}/{name}.torch-output.f32", y)


def check(directory, name):
    model = TWINS[name]()
    model.load_state_dict(load_safetensors(f"{directory}/{name}.dsl.safetensors"), strict=True)
    model.eval()
    with torch.no_grad():
        y = model(read_f32(f"{directory}/{name}.dsl-input.f32", SHAPES[name]))
    write_f32(f"{directory}/{name}.dsl-torch-output.f32", y)


def resnet18(directory):
    """torchvision's resnet18() in eval mode, then one SGD step in train mode; see the module docstring."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_().mul_(0.1)
                module.running_mean.normal_().mul_(0.1)
                module.running_var.uniform_(0.5, 1.5)
    save_safetensors(f"{directory}/ResNet18.torch.safetensors", model.state_dict())

    model.eval()
    x = torch.randn(RESNET18_BATCH, *RESNET18_SHAPE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    write_f32(f"{directory}/ResNet18.input.f32", x)
    write_f32(f"{directory}/ResNet18.torch-output.f32", y)

    x = torch.randn(RESNET18_BATCH, *RESNET18_SHAPE, generator=torch.Generator().manual_seed(2))
    target = torch.randint(0, 1000, (RESNET18_BATCH,), generator=torch.Generator().manual_seed(3))
    write_f32(f"{directory}/ResNet18.train-input.f32", x)
    write_f32(f"{directory}/ResNet18.train-target.f32", target.float())
    start = {k: v.clone() for k, v in model.state_dict().items()}
    y, loss = sgd_step(model, x, target)
    write_f32(f"{directory}/ResNet18.train-output.f32", y)
    write_f32(f"{directory}/ResNet18.train-loss.f32", loss)
    save_safetensors(f"{directory}/ResNet18.torch-after-step.safetensors", model.state_dict())

    # The same step in float64: where a batch norm over two samples sums gradients that nearly cancel, float32
    # (PyTorch's or Dsl's) is off by up to a few percent of the step; the tests measure both against this.
    model.load_state_dict(start)
    model.double()
    sgd_step(model, x.double(), target)
    save_safetensors(f"{directory}/ResNet18.torch64-after-step.safetensors",
                     {k: v.float() if v.dtype == torch.float64 else v for k, v in model.state_dict().items()})


def sgd_step(model, x, target):
    """One SGD step (lr 0.1, no momentum) of the mean cross-entropy in train mode; returns the logits before it and the loss."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    y = model(x)
    loss = F.cross_entropy(y, target)
    loss.backward()
    optimizer.step()
    return y.detach().float(), loss.detach().float()


def resnet18_check(directory):
    """resnet18() loads DIR/ResNet18.dsl.safetensors and runs DIR/ResNet18.dsl-input.f32 in eval mode."""
    import torchvision

    model = torchvision.models.resnet18()
    model.load_state_dict(load_safetensors(f"{directory}/ResNet18.dsl.safetensors"), strict=True)
    model.eval()
    with torch.no_grad():
        y = model(read_f32(f"{directory}/ResNet18.dsl-input.f32", RESNET18_SHAPE, RESNET18_BATCH))
    write_f32(f"{directory}/ResNet18.dsl-torch-output.f32", y)


if __name__ == "__main__":
    torch.set_num_threads(1)
    commands = {"export": export, "check": check, "resnet18": resnet18, "resnet18-check": resnet18_check}
    commands[sys.argv[1]](*sys.argv[2:])
