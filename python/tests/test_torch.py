# SPDX-License-Identifier: BSD-2-Clause
"""mnv2.torch: weights to and from torchvision's mobilenet_v2 (skipped without torch / torchvision)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import mnv2  # noqa: E402
import mnv2.torch as mt  # noqa: E402


def randomize_bn(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
    return net.eval()


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def nhwc(x):
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())


def torch_logits(net, x):
    with torch.no_grad():
        return net.eval()(x).numpy()


def test_standard_224_round_trip():
    torch.manual_seed(0)
    net = randomize_bn(torchvision.models.mobilenet_v2(num_classes=1000), 1)
    x = torch.randn(2, 3, 224, 224)
    ref = torch_logits(net, x)
    m = mt.from_torchvision(net, max_batch=2, threads=0)
    assert m.input_shape == (224, 224, 3) and m.classes == 1000
    assert m.config()["bn_eps"] == pytest.approx(1e-5) and m.config()["bn_momentum"] == pytest.approx(0.9)
    assert m.config()["dropout"] == pytest.approx(0.2)
    out = m.predict(nhwc(x))
    assert rel(out, ref) <= 1e-4, rel(out, ref)
    back = mt.to_torchvision(m)
    for k, v in net.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(back.state_dict()[k], v), k
    assert rel(torch_logits(back, x), ref) <= 1e-4
    assert back.classifier[0].p == pytest.approx(0.2) and back.features[1].conv[0][1].eps == pytest.approx(1e-5)


def test_width_and_classes_and_state_dict_input():
    torch.manual_seed(1)
    net = randomize_bn(torchvision.models.mobilenet_v2(num_classes=7, width_mult=0.5), 2)
    x = torch.randn(3, 3, 96, 96)
    ref = torch_logits(net, x)
    for src in (net, net.state_dict()):
        m = mt.from_torchvision(src, input_size=96, max_batch=3, threads=1)
        assert m.classes == 7
        assert rel(m.predict(nhwc(x)), ref) <= 1e-4
    back = mt.to_torchvision(m)
    assert rel(torch_logits(back, x), ref) <= 1e-4


def reduced_torch(classes=10):
    """The reduced preset written directly in torch: torchvision's MobileNetV2 on the seed paper's
    block table, with a 256-channel head (torchvision's would be 1280), no dropout, and mnv2's
    batch-norm defaults (Keras': eps 1e-3, momentum 0.99, which is 0.01 in torch's convention)."""
    import functools
    from torchvision.ops.misc import Conv2dNormActivation
    bn = functools.partial(torch.nn.BatchNorm2d, eps=1e-3, momentum=0.01)
    net = torchvision.models.mobilenet_v2(num_classes=classes, dropout=0.0, norm_layer=bn,
                                          inverted_residual_setting=[[6, 64, 4, 1], [6, 96, 3, 2], [6, 160, 3, 1]])
    net.features[-1] = Conv2dNormActivation(160, 256, kernel_size=1, norm_layer=bn, activation_layer=torch.nn.ReLU6)
    net.classifier[1] = torch.nn.Linear(256, classes)
    return net


def test_reduced_preset_equals_an_equivalent_torch_module():
    m = mnv2.Model("reduced", classes=10, threads=1, max_batch=4, seed=3)
    with m.editing() as (p, b):
        r = np.random.default_rng(4)
        b[:] = r.uniform(0.5, 2.0, b.size).astype(np.float32)  # running means and variances
    x = torch.randn(4, 3, 32, 32)
    ours = m.predict(nhwc(x))
    # mnv2's weights into the hand-written torch module
    net = reduced_torch()
    conv = mt.to_torchvision(m)
    net.load_state_dict(conv.state_dict())
    assert [tuple(v.shape) for v in net.state_dict().values()] == [tuple(v.shape) for v in conv.state_dict().values()]
    assert rel(torch_logits(net, x), ours) <= 1e-4
    # and the torch module back into mnv2 (strides read from the module)
    back = mt.from_torchvision(net, input_size=32, max_batch=4, threads=1)
    assert back.config()["blocks"] == [(6, 64, 1, 1)] * 4 + [(6, 96, 1, 2), (6, 96, 1, 1), (6, 96, 1, 1)] + \
        [(6, 160, 1, 1)] * 3
    np.testing.assert_array_equal(back.predict(nhwc(x)), ours)


def test_trained_model_round_trip_and_file(tmp_path):
    m = mnv2.Model("reduced", classes=10, threads=1, max_batch=4, seed=5)
    x = np.random.default_rng(6).standard_normal((4, 32, 32, 3)).astype(np.float32)
    for _ in range(3):
        m.train_step(x, np.arange(4))
    net = mt.to_torchvision(m)
    ref = torch_logits(net, torch.from_numpy(x).permute(0, 3, 1, 2))
    assert rel(m.predict(x), ref) <= 1e-4
    mt.from_torchvision(net, input_size=32, max_batch=4).save(tmp_path / "t.mnv2")
    np.testing.assert_array_equal(mnv2.Model.load(tmp_path / "t.mnv2").predict(x), m.predict(x))


def test_refusals():
    with pytest.raises(ValueError, match="not a torchvision mobilenet_v2"):
        mt.from_torchvision({"x": torch.zeros(1)})
    sd = reduced_torch().state_dict()
    with pytest.raises(ValueError, match="strides"):
        mt.from_torchvision(sd)
