"""The fused AdaIN operator: compiled kernels against the PyTorch reference, gradients, opcheck, compile."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ops_testing import (DEVICES, assert_close, fresh_generator, poison_like, poisoned_outputs, ran_ops,
                         require_kernel)
from portrait_animator import ops

# (rtol, atol relative to the largest expected magnitude) per dtype. Half precision outputs differ from the
# float32-computed reference by their own rounding (~2^-11 / 2^-8 relative).
TOLERANCE = {
    torch.float64: (1e-10, 1e-12),
    torch.float32: (1e-4, 2e-6),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}
# On CUDA, planes up to 64x64 take the one-block-per-plane kernels (4, 8 or 16 values a thread) and larger
# ones the split path; (1, 140, 64, 64) has a plane per SM and more on any current GPU.
SHAPES = [(2, 3, 8, 8), (1, 5, 1, 1), (2, 4, 1, 17), (3, 2, 13, 1), (2, 3, 40, 41), (1, 140, 64, 64),
          (1, 2, 70, 70)]


def _inputs(shape, dtype, device, generator, offset=0.0, spread=2.0):
    n, c = shape[:2]
    x = (torch.randn(shape, generator=generator, dtype=torch.float64) * spread + offset).to(device, dtype)
    param_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    scale = torch.randn(n, c, generator=generator, dtype=param_dtype).to(device)
    bias = torch.randn(n, c, generator=generator, dtype=param_dtype).to(device)
    return x, scale, bias


def _kernel_and_reference(x, scale, bias, eps=1e-5):
    """(kernel result, reference result, their input gradients) for one random output gradient."""
    grad = torch.randn(x.shape, dtype=torch.float64).to(x.device, x.dtype)
    results = []
    for backend in ("compiled", "reference"):
        leaves = [t.detach().clone().requires_grad_() for t in (x, scale, bias)]
        with poisoned_outputs() if backend == "compiled" else torch.enable_grad():
            y = ops.adain(*leaves, eps, backend=backend)
            y.backward(grad)
        results.append((y.detach(), [leaf.grad for leaf in leaves]))
    return results


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_forward_and_gradients_match_reference(device, dtype, shape):
    require_kernel("adain", device)
    x, scale, bias = _inputs(shape, dtype, device, fresh_generator())
    (y, grads), (y_ref, grads_ref) = _kernel_and_reference(x, scale, bias)
    rtol, atol = TOLERANCE[dtype]
    assert y.dtype == dtype and y.shape == x.shape
    if shape[2] * shape[3] == 1:
        # 1x1 planes: the output is exactly the bias and grad x exactly 0 in exact arithmetic; both sides only
        # carry rounding of terms as large as x * rstd * scale (rstd = 1/sqrt(eps) ~ 316), so compare each
        # with the exact answer at that scale.
        noise = 4 * rtol * 316.3 * float(scale.abs().max()) * float(x.abs().max() + 1)
        for out in (y, y_ref):
            assert_close(out, bias[..., None, None].to(dtype).expand_as(x), rtol=0, atol=noise, what="1x1 output")
        for grad in grads[:2] + grads_ref[:2]:  # grad x and grad scale (x - mean = 0), times |g| <= 5
            assert float(grad.abs().max()) <= 5 * noise
        grads, grads_ref = grads[2:], grads_ref[2:]
    else:
        assert_close(y, y_ref, rtol=rtol, atol=atol, what="output")
    for name, grad, grad_ref in zip(("x", "scale", "bias")[-len(grads):], grads, grads_ref):
        assert_close(grad, grad_ref, rtol=rtol, atol=atol, what=f"grad {name}")


@pytest.mark.parametrize("device", DEVICES)
def test_reference_is_instance_norm_with_per_sample_affine(device):
    """Pins the semantics: biased variance per (n, c) over H*W, eps inside the square root."""
    require_kernel("adain", device)
    x, scale, bias = _inputs((3, 4, 5, 6), torch.float64, device, fresh_generator())
    expected = F.instance_norm(x, eps=0.1) * scale[..., None, None] + bias[..., None, None]
    by_hand = ((x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), unbiased=False, keepdim=True) + 0.1)
               * scale[..., None, None] + bias[..., None, None])
    assert_close(ops.adain_reference(x, scale, bias, 0.1), expected, rtol=1e-12, atol=1e-12, what="reference")
    assert_close(by_hand, expected, rtol=1e-12, atol=1e-12, what="formula")
    assert_close(ops.adain(x, scale, bias, 0.1, backend="compiled"), expected, rtol=1e-12, atol=1e-12,
                 what="kernel")


@pytest.mark.parametrize("device", DEVICES)
def test_constant_planes_give_bias(device):
    require_kernel("adain", device)
    x = torch.full((2, 3, 4, 5), 7.25, device=device)
    x[1, 2] = -3.0
    scale = torch.randn(2, 3, generator=fresh_generator()).to(device)
    bias = torch.randn(2, 3, generator=fresh_generator()).to(device)
    (y, grads), (y_ref, grads_ref) = _kernel_and_reference(x, scale, bias)
    torch.testing.assert_close(y, bias[..., None, None].expand_as(x), rtol=0, atol=1e-6)
    # var = 0: grad x is rstd * scale * (g - mean(g)) with rstd = 1/sqrt(eps), large but finite; grad scale is
    # sum(g * 0) = 0 (exactly in the kernel; the reference's group_norm rounds x * rstd - mean * rstd).
    assert_close(grads[0], grads_ref[0], rtol=1e-4, atol=1e-5, what="grad x")
    assert float(grads[1].abs().max()) <= 1e-6 and float(grads_ref[1].abs().max()) <= 1e-2
    assert_close(grads[2], grads_ref[2], rtol=1e-5, atol=1e-6, what="grad bias")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(4, 16, 32, 32), (1, 2, 160, 160)], ids=["small-planes", "split-planes"])
def test_large_mean_keeps_float32_precision(device, shape):
    """Planes at 1e4 with a spread of 0.5: E[x^2] - E[x]^2 in float32 would lose every digit. The float32 mean
    itself is only good to half an ulp of 1e4 (5e-4, i.e. 1e-3 of the spread), which bounds any float32
    method; the two-pass variance stays within that. Many planes, so a reduction that rounds at the offset's
    scale fails on some plane whatever the seed (a CUDA Welford merge once did on 1 plane in 6); on a GPU the
    small planes take the one-block-per-plane kernels and the large ones the split path."""
    require_kernel("adain", device)
    x, _, _ = _inputs(shape, torch.float32, device, fresh_generator(), offset=1e4, spread=0.5)
    scale, bias = torch.ones(shape[:2], device=device), torch.zeros(shape[:2], device=device)
    y = ops.adain(x, scale, bias, backend="compiled")  # = x_hat, of magnitude ~4
    exact = ops.adain_reference(x.double(), scale.double(), bias.double())
    torch.testing.assert_close(y.double(), exact, rtol=0, atol=1.5e-3)  # mean rounding * rstd = 4.9e-4 * 2
    naive_var = (x.double().square().float().mean((2, 3)) - x.mean((2, 3)).square()).clamp(min=0)
    # ... while the textbook one-pass formula is off by 40% or more of the variance (0.25) on some plane.
    assert float((naive_var - x.double().var((2, 3), unbiased=False).float()).abs().max()) > 0.1


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_inputs(device):
    require_kernel("adain", device)
    gen = fresh_generator()
    x = torch.randn(2, 9, 7, 3, generator=gen).to(device).permute(0, 3, 2, 1)[:, :, ::2]  # (2, 3, 4, 9) strided
    x_cl = torch.randn(2, 3, 6, 5, generator=gen).to(device).contiguous(memory_format=torch.channels_last)
    scale_t = torch.randn(3, 2, generator=gen).to(device).t()  # (2, 3), transposed storage
    bias = torch.randn(2, 3, generator=gen).to(device)
    for inp in (x, x_cl):
        (y, grads), (y_ref, grads_ref) = _kernel_and_reference(inp, scale_t, bias)
        assert_close(y, y_ref, rtol=1e-4, atol=2e-6, what="output")
        for grad, grad_ref in zip(grads, grads_ref):
            assert_close(grad, grad_ref, rtol=1e-4, atol=2e-6, what="gradient")


def test_scale_and_bias_broadcast_from_channels():
    x = torch.randn(3, 4, 5, 5)
    scale, bias = torch.randn(4), torch.randn(1, 4)
    expected = ops.adain(x, scale.expand(3, 4), bias.expand(3, 4))
    torch.testing.assert_close(ops.adain(x, scale, bias), expected)
    with pytest.raises(ValueError, match=r"scale must be \(N, C\) = \(3, 4\)"):
        ops.adain(x, torch.randn(2, 4), bias)


def test_gradcheck_float64():
    require_kernel("adain", "cpu")
    gen = fresh_generator()
    inputs = [t.requires_grad_() for t in _inputs((2, 3, 4, 5), torch.float64, "cpu", gen)]
    assert torch.autograd.gradcheck(lambda x, s, b: ops.adain(x, s, b, backend="compiled"), inputs)


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    require_kernel("adain", device)
    lib = torch.ops.portrait_animator
    for dtype in (torch.float32, torch.float16):
        x, scale, bias = _inputs((2, 3, 5, 4), dtype, device, fresh_generator())
        torch.library.opcheck(lib.adain.default, (x, scale, bias, 1e-5))
        torch.library.opcheck(lib.adain.default, (x.requires_grad_(), scale.requires_grad_(), bias, 1e-5))
        out, mean, rstd = lib.adain(x.detach(), scale.detach(), bias, 1e-5)
        torch.library.opcheck(lib.adain_out.default, (x.detach(), scale.detach(), bias, 1e-5, torch.empty_like(out)))
        for mask in ([True, True, True], [False, True, False]):
            torch.library.opcheck(lib.adain_backward.default,
                                  (torch.randn_like(out), x.detach(), scale.detach(), mean, rstd, mask))


@pytest.mark.parametrize("device", DEVICES)
def test_out_buffer_is_fully_written(device):
    require_kernel("adain", device)
    x, scale, bias = _inputs((2, 5, 9, 7), torch.float32, device, fresh_generator())
    out = poison_like(x)
    assert ops.adain(x, scale, bias, out=out, backend="compiled") is out
    torch.testing.assert_close(out, ops.adain(x, scale, bias, backend="reference"), rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="out= does not support autograd"):
        ops.adain(x, scale.requires_grad_(), bias, out=out)


def test_poisoning_is_active():
    """Guards the guard: inside poisoned_outputs() fresh memory really is NaN."""
    with poisoned_outputs():
        assert torch.isnan(torch.empty(16)).all()
        assert (torch.empty(4, dtype=torch.int32) == torch.iinfo(torch.int32).max).all()


def test_backend_choice(monkeypatch):
    require_kernel("adain", "cpu")
    x, scale, bias = _inputs((1, 2, 3, 3), torch.float32, "cpu", fresh_generator())
    assert "portrait_animator::adain" in ran_ops(lambda: ops.adain(x, scale, bias))
    assert not ran_ops(lambda: ops.adain(x, scale, bias, backend="reference"))
    monkeypatch.setenv(ops.BACKEND_ENV, "reference")
    assert not ran_ops(lambda: ops.adain(x, scale, bias))
    assert ran_ops(lambda: ops.adain(x, scale, bias, backend="compiled"))
    monkeypatch.setenv(ops.BACKEND_ENV, "fastest")
    with pytest.raises(ValueError, match="PORTRAIT_ANIMATOR_OPS"):
        ops.adain(x, scale, bias)


def test_torch_compile_forward_and_backward():
    require_kernel("adain", "cpu")
    x, scale, bias = (t.requires_grad_() for t in _inputs((2, 4, 6, 6), torch.float32, "cpu", fresh_generator()))

    def block(x, scale, bias):
        return torch.relu(ops.adain(x, scale, bias)).square().sum()

    compiled = torch.compile(block, backend="aot_eager", fullgraph=True)
    loss = compiled(x, scale, bias)
    grads = torch.autograd.grad(loss, (x, scale, bias))
    loss_ref = block(x, scale, bias)
    grads_ref = torch.autograd.grad(loss_ref, (x, scale, bias))
    torch.testing.assert_close(loss, loss_ref)
    for grad, grad_ref in zip(grads, grads_ref):
        torch.testing.assert_close(grad, grad_ref)
