"""Reference spiking networks: shapes, gradient flow, a tiny learning problem, dropout
semantics and the sizing helpers used by ``evframes train --dry-run``."""
import pytest
import torch
import torch.nn.functional as F

from evframes.train.models import (
    CSNN,
    DVSGestureNet,
    SharedDropout,
    VotingLayer,
    count_parameters,
    estimate_activation_bytes,
    estimate_training_memory,
    to_time_first,
)
from evframes.train.neuron import LIFNode


def _spikes(shape, p=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) < p).float()


@pytest.mark.parametrize("size,blocks", [(32, 3), (64, 4), (128, 5)])
def test_dvsgesture_shapes(size, blocks):
    torch.manual_seed(0)
    net = DVSGestureNet(channels=8, input_size=size, backend="cpu")
    assert net.n_blocks == blocks
    assert sum(isinstance(m, LIFNode) for m in net.modules()) == blocks + 2
    x = _spikes((3, 2, 2, size, size))
    seq = net.forward_seq(x)
    assert seq.shape == (3, 2, 11)
    rate = net(x)
    assert rate.shape == (2, 11)
    assert ((rate >= 0) & (rate <= 1)).all()


def test_dvsgesture_input_checks():
    net = DVSGestureNet(channels=4, input_size=32)
    batch = torch.zeros(2, 3, 2, 32, 32)  # DataLoader batch [N=2, T=3, 2, H, W]
    assert net(to_time_first(batch)).shape == (2, 11)
    with pytest.raises(ValueError, match=r"\[T, N, 2, 32, 32\]"):
        net(torch.zeros(3, 2, 2, 64, 64))
    with pytest.raises(ValueError, match="power of two"):
        DVSGestureNet(input_size=48)


def test_dvsgesture_full_size_parameter_count():
    net = DVSGestureNet()  # channels=128, 128x128, 11 classes x 10 votes
    expected = (2 * 128 * 9 + 4 * 128 * 128 * 9  # convs, no bias
                + 5 * 2 * 128                    # BN affine
                + 128 * 16 * 512 + 512           # fc1
                + 512 * 110 + 110)               # fc2
    assert count_parameters(net) == expected == 1_698_926


def test_csnn_nmnist_layout_and_gradients():
    torch.manual_seed(0)
    net = CSNN(backend="cpu")
    assert net.fc_in == 32 * 5 * 5 == 800  # 34 -> 30 -> 15 -> 11 -> 5
    x = _spikes((4, 3, 2, 34, 34), p=0.4)
    rate = net(x)
    assert rate.shape == (3, 10)
    F.mse_loss(rate, torch.full_like(rate, 0.5)).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    first_conv = net.features[0][0].weight
    assert first_conv.grad.abs().sum() > 0
    # padding changes the FC width, computed from the geometry
    assert CSNN(padding=2).fc_in == 32 * 8 * 8


@pytest.mark.parametrize("backend", ["torch", "cpu"])
def test_gradients_flow_dvsgesture(backend):
    torch.manual_seed(1)
    net = DVSGestureNet(channels=8, input_size=32, backend=backend)
    x = _spikes((4, 2, 2, 32, 32), p=0.4)
    loss = F.mse_loss(net(x), F.one_hot(torch.tensor([1, 3]), 11).float())
    loss.backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.features[0][0].weight.grad.abs().sum() > 0


def test_backends_agree_on_network():
    torch.manual_seed(2)
    a = DVSGestureNet(channels=8, input_size=32, backend="torch")
    b = DVSGestureNet(channels=8, input_size=32, backend="cpu")
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = _spikes((4, 2, 2, 32, 32), p=0.4)
    assert torch.equal(a.forward_seq(x), b.forward_seq(x))


def test_adam_learns_tiny_separable_problem():
    """Class 0 fires on the left half, class 1 on the right: a few Adam steps help."""
    torch.manual_seed(3)
    T, N, S = 4, 16, 32
    y = torch.arange(N) % 2
    x = _spikes((T, N, 2, S, S), p=0.05, seed=4)
    left = torch.zeros(S, S)
    left[:, : S // 2] = 1
    mask = torch.where(y[:, None, None, None] == 0, left, 1 - left)  # [N, 1, S, S]
    x = torch.clamp(x + _spikes((T, N, 2, S, S), p=0.5, seed=5) * mask, 0, 1)
    target = F.one_hot(y, 2).float()
    # dropout off and losses measured in train mode (batch-statistics BN): after a dozen
    # steps the running BN statistics used by eval() are not settled yet
    net = DVSGestureNet(channels=8, input_size=S, n_classes=2, voting=10, backend="cpu",
                        dropout=0.0)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)

    def loss_now():
        with torch.no_grad():
            return F.mse_loss(net(x), target).item()

    before = loss_now()
    for _ in range(12):
        opt.zero_grad()
        F.mse_loss(net(x), target).backward()
        opt.step()
    after = loss_now()
    assert after < before * 0.9, (before, after)


def test_shared_dropout_mask_shared_across_time():
    torch.manual_seed(4)
    d = SharedDropout(0.5)
    x = torch.ones(6, 3, 40)
    y = d(x)
    assert d.last_mask.shape == (1, 3, 40)
    assert torch.equal(y, y[:1].expand_as(y))  # same pattern at every step
    assert set(y.unique().tolist()) <= {0.0, 2.0}  # kept units scaled by 1/(1-p)
    assert 0.3 < (y[0] == 0).float().mean().item() < 0.7
    y2 = d(x)
    assert not torch.equal(y, y2)  # a new mask per forward call
    d.eval()
    assert torch.equal(d(x), x)


def test_voting_layer_is_group_mean():
    v = VotingLayer(10)
    x = torch.arange(2 * 3 * 110, dtype=torch.float32).view(2, 3, 110)
    out = v(x)
    assert out.shape == (2, 3, 11)
    ref = F.avg_pool1d(x.view(6, 1, 110), 10, 10).view(2, 3, 11)
    torch.testing.assert_close(out, ref)


def test_activation_estimate():
    T, N = 16, 16
    cpu_net = DVSGestureNet(backend="cpu")
    total, parts = estimate_activation_bytes(cpu_net, T, N, (2, 128, 128), breakdown=True)
    # the first LIF saves its input: T*N*128 channels*128*128 float32
    assert parts["features.1"] == T * N * 128 * 128 * 128 * 4
    assert 8 * 2**30 < total < 12 * 2**30
    torch_total = estimate_activation_bytes(DVSGestureNet(backend="torch", channels=8,
                                                          input_size=32), 4, 2, (2, 32, 32))
    fused_total = estimate_activation_bytes(DVSGestureNet(backend="cpu", channels=8,
                                                          input_size=32), 4, 2, (2, 32, 32))
    assert torch_total > fused_total > 0
    # the model itself is untouched
    assert next(cpu_net.parameters()).device.type == "cpu"
    mem = estimate_training_memory(cpu_net, T, N, (2, 128, 128))
    assert mem["activation_bytes"] == total
    n_par = count_parameters(cpu_net)
    assert mem["optimizer_bytes"] == 2 * mem["gradient_bytes"] == 2 * 4 * n_par
    assert mem["input_bytes"] == T * N * 2 * 128 * 128 * 4
    assert mem["total_bytes"] == sum(v for k, v in mem.items() if k != "total_bytes")


def test_activation_estimate_cupy_saves_float32_h(monkeypatch):
    """backend='cupy' keeps h in float32 for the backward, also under fp16/bf16 (so its
    spikes are the forward's): 4 bytes per neuron-step in the estimate."""
    from evframes.train import _lif_cupy
    monkeypatch.setattr(_lif_cupy, "_cupy", object())  # construction only, nothing runs
    net = DVSGestureNet(channels=8, input_size=32, backend="cupy")
    T, N = 4, 2
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        _, parts = estimate_activation_bytes(net, T, N, (2, 32, 32), dtype=dtype,
                                             breakdown=True)
        assert parts["features.1"] == T * N * 8 * 32 * 32 * 4, dtype
