"""The landmark-driven mesh warp: kernels against the PyTorch reference, pixel-level semantics, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial import Delaunay

from ops_testing import (DEVICES, assert_close, fresh_generator, poison_like, poisoned_outputs, ran_ops,
                         require_kernel)
from portrait_animator import ops

# (rtol, atol relative to the largest expected magnitude) per image dtype; points and grids are float32
# (float64 for float64 images).
TOLERANCE = {
    torch.float64: (1e-9, 1e-10),
    torch.float32: (1e-4, 2e-5),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}
POINT_GRAD_TOLERANCE = {torch.float64: (1e-8, 1e-9), torch.float32: (2e-3, 2e-4), torch.float16: (2e-2, 2e-2),
                        torch.bfloat16: (5e-2, 5e-2)}


def frame_points(width: float, height: float) -> torch.Tensor:
    """Corners and edge midpoints of the image rectangle (what the warp renderer adds around a face)."""
    xs, ys = (0.0, width / 2, width), (0.0, height / 2, height)
    return torch.tensor([(x, y) for y in ys for x in xs if (x, y) != (width / 2, height / 2)], dtype=torch.float64)


def random_mesh(gen, height, width, num_points=20, *, frame=True, reach=0.0):
    """Random points (spreading ``reach`` image sizes beyond each side), Delaunay-triangulated."""
    size = torch.tensor([width, height], dtype=torch.float64)
    pts = (torch.rand(num_points, 2, generator=gen, dtype=torch.float64) * (1 + 2 * reach) - reach) * size
    if frame:
        pts = torch.cat([pts, frame_points(width, height)])
    return pts, torch.from_numpy(Delaunay(pts.numpy()).simplices.astype(np.int64))


def make_case(name, gen, dtype=torch.float32, device="cpu", channels=3):
    """(image, src_points, dst_points, triangles, out_size) for one named situation."""
    height, width, out_size = 23, 31, None
    if name == "thin_row":
        height = 1
    elif name == "thin_column":
        width = 1
    pts, tris = random_mesh(gen, height, width, frame=name not in ("partial", "folded"),
                            reach=0.6 if name == "outside" else 0.0)
    if name == "folded":  # random triangles overlap each other: the lowest index must win everywhere
        tris = torch.randint(0, len(pts), (40, 3), generator=gen)
    if name == "degenerate":  # zero-area triangles: a repeated vertex, a repeated position, collinear points
        pts[3] = pts[4]
        pts[7] = (pts[5] + pts[6]) / 2
        extra = torch.tensor([[0, 0, 1], [3, 4, 2], [5, 6, 7], [8, 8, 8]])
        tris = torch.cat([extra, tris])
    if name == "resize":
        out_size = (17, 40)
    dst = pts.clone()
    src = pts + torch.randn(pts.shape, generator=gen, dtype=torch.float64) * 1.5
    if name == "outside":
        src = src * 1.3 - 4.0  # samples beyond every side of the image
    image = torch.rand(1 if name == "thin_row" else 2, channels, height, width, generator=gen, dtype=torch.float64)
    batch = image.shape[0]
    src, dst = src.expand(batch, -1, -1).clone(), dst.expand(batch, -1, -1).clone()
    if batch > 1:  # different meshes per image
        dst[1] += torch.randn(dst[1].shape, generator=gen, dtype=torch.float64) * 0.7
    coord = torch.float64 if dtype == torch.float64 else torch.float32
    return (image.to(device, dtype), src.to(device, coord), dst.to(device, coord), tris.to(device), out_size)


CASES = ["mesh", "partial", "outside", "degenerate", "folded", "resize", "thin_row", "thin_column"]


def _kinks_masked(grad, grid):
    """grad_out zeroed where the sample position lies within 1e-3 px of a pixel-centre line: there the
    bilinear derivative jumps, so the point gradient legitimately depends on last-bit rounding."""
    u = grid - 0.5
    near = ((u - u.round()).abs() < 1e-3).any(-1)
    return grad.masked_fill(near[:, None], 0)


def _run(backend, image, src, dst, tris, out_size, padding, poison):
    leaves = [t.detach().clone().requires_grad_() for t in (image, src, dst)]
    context = poisoned_outputs() if poison else torch.enable_grad()
    with context:
        result = ops.mesh_warp(*leaves, tris, out_size=out_size, padding=padding, return_grid=True,
                               return_index=True, backend=backend)
    return leaves, result


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("padding", ["border", "zeros"])
@pytest.mark.parametrize("case", CASES)
def test_forward_and_gradients_match_reference(device, dtype, padding, case):
    require_kernel("mesh_warp", device)
    gen = fresh_generator()
    image, src, dst, tris, out_size = make_case(case, gen, dtype, device)
    leaves_k, got = _run("compiled", image, src, dst, tris, out_size, padding, poison=True)
    leaves_r, ref = _run("reference", image, src, dst, tris, out_size, padding, poison=False)
    rtol, atol = TOLERANCE[dtype]
    assert torch.equal(got.triangle_index, ref.triangle_index), "coverage differs from the reference"
    assert_close(got.grid, ref.grid, rtol=1e-6 if dtype != torch.float64 else 1e-12, atol=1e-6, what="grid")
    assert_close(got.image, ref.image, rtol=rtol, atol=atol, what="image")
    assert got.image.dtype == dtype and got.grid.dtype == src.dtype

    grad = _kinks_masked(torch.randn(got.image.shape, generator=gen, dtype=torch.float64).to(device, dtype),
                         ref.grid.detach())
    grad_grid = torch.randn(got.grid.shape, generator=gen, dtype=torch.float64).to(device, src.dtype)
    for leaves, result, poison in ((leaves_k, got, True), (leaves_r, ref, False)):
        with poisoned_outputs() if poison else torch.enable_grad():
            torch.autograd.backward([result.image, result.grid], [grad, grad_grid])
    assert_close(leaves_k[0].grad, leaves_r[0].grad, rtol=rtol, atol=atol, what="grad image")
    prtol, patol = POINT_GRAD_TOLERANCE[dtype]
    assert_close(leaves_k[1].grad, leaves_r[1].grad, rtol=prtol, atol=patol, what="grad src_points")
    assert_close(leaves_k[2].grad, leaves_r[2].grad, rtol=prtol, atol=patol, what="grad dst_points")


@pytest.mark.parametrize("device", DEVICES)
def test_translation_moves_pixels(device):
    """src -> dst shifted by (+3, +2) px: the output at (x, y) is the input at (x - 3, y - 2), exactly."""
    require_kernel("mesh_warp", device)
    gen = fresh_generator()
    image = torch.rand(1, 3, 20, 24, generator=gen).to(device)
    src = torch.tensor([[[-10.0, -10.0], [40.0, -10.0], [-10.0, 40.0], [40.0, 40.0]]], device=device)
    tris = torch.tensor([[0, 1, 2], [1, 3, 2]])
    warped = ops.mesh_warp(image, src, src + torch.tensor([3.0, 2.0], device=device), tris, backend="compiled")
    torch.testing.assert_close(warped[..., 2:, 3:], image[..., :-2, :-3], rtol=0, atol=1e-5)
    torch.testing.assert_close(warped[..., :2, 3:], image[..., :1, :-3].expand(-1, -1, 2, -1), rtol=0,
                               atol=1e-5)  # border padding repeats the first row


@pytest.mark.parametrize("device", DEVICES)
def test_identity_and_uncovered_pixels_pass_the_image_through(device):
    require_kernel("mesh_warp", device)
    gen = fresh_generator()
    image = torch.rand(2, 4, 19, 26, generator=gen).to(device)
    pts, tris = random_mesh(gen, 19, 26, frame=False)  # covers only the points' hull
    pts = pts.float().to(device).expand(2, -1, -1)
    result = ops.mesh_warp(image, pts, pts, tris, return_index=True, backend="compiled")
    assert (result.triangle_index < 0).any() and (result.triangle_index >= 0).any()
    # Covered pixels map to themselves up to float32 rounding of the barycentric sum (~1e-6 px).
    torch.testing.assert_close(result.image, image, rtol=0, atol=5e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_mesh_through_pixel_centres_is_watertight(device):
    """Vertices on pixel centres put thousands of centres exactly on shared edges: none may fall through."""
    require_kernel("mesh_warp", device)
    gen = fresh_generator()
    xs = torch.arange(0, 33, 4, dtype=torch.float64) + 0.5
    ys = torch.arange(0, 29, 4, dtype=torch.float64) + 0.5
    grid_pts = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)
    grid_pts += torch.rand(grid_pts.shape, generator=gen, dtype=torch.float64).round() * 2  # keep on centres
    pts = torch.cat([grid_pts, frame_points(36, 31)])
    tris = torch.from_numpy(Delaunay(pts.numpy()).simplices.astype(np.int64))
    pts = pts.float()[None].to(device)
    grid, index = ops.mesh_warp_grid(pts, pts, tris, (31, 36), return_index=True, backend="compiled")
    assert (index >= 0).all(), f"{int((index < 0).sum())} pixels fell between triangles"
    _, index_ref = ops.mesh_warp_grid(pts, pts, tris, (31, 36), return_index=True, backend="reference")
    assert torch.equal(index, index_ref)


@pytest.mark.parametrize("device", DEVICES)
def test_degenerate_triangles_never_produce_nan(device):
    """Zero-area triangles and a destination vertex lost by the tracker (NaN) cover nothing; nothing is NaN."""
    require_kernel("mesh_warp", device)
    gen = fresh_generator()
    image, src, dst, tris, _ = make_case("degenerate", gen, device=device)
    dst[:, 10] = dst[:, 11]  # collapse more triangles in the destination
    dst[:, 12] = float("nan")
    leaves = [t.clone().requires_grad_() for t in (image, src, dst)]
    result = ops.mesh_warp(*leaves, tris, return_index=True, backend="compiled")
    result.image.square().sum().backward()
    for t in [result.image] + [leaf.grad for leaf in leaves]:
        assert torch.isfinite(t).all()
    used = torch.unique(result.triangle_index[result.triangle_index >= 0]).cpu()
    assert not (tris[used] == 12).any(), "a triangle with a NaN vertex covered pixels"


@pytest.mark.parametrize("device", DEVICES)
def test_mesh_warp_grid_and_its_gradient_match_reference(device):
    require_kernel("mesh_warp_grid", device)
    gen = fresh_generator()
    _, src, dst, tris, _ = make_case("mesh", gen, device=device)
    grads = {}
    for backend in ("compiled", "reference"):
        leaves = [src.clone().requires_grad_(), dst.clone().requires_grad_()]
        grid = ops.mesh_warp_grid(*leaves, tris, (25, 30), backend=backend)
        weight = torch.linspace(-1, 1, grid.numel(), dtype=grid.dtype, device=device).view_as(grid)
        (grid * weight).sum().backward()
        grads[backend] = (grid, *[leaf.grad for leaf in leaves])
    for got, ref, what in zip(grads["compiled"], grads["reference"], ("grid", "grad src", "grad dst")):
        assert_close(got, ref, rtol=1e-4, atol=1e-5, what=what)


def test_gradcheck_float64():
    require_kernel("mesh_warp", "cpu")
    gen = torch.Generator().manual_seed(1234)  # fixed: finite differences must not straddle a bilinear kink
    image, src, dst, tris, _ = make_case("mesh", gen, torch.float64)
    image = image[:1, :2, :9, :11].contiguous()
    src, dst = src[:1] * 0.35 + 0.3, dst[:1] * 0.35  # the mesh fills the 9 x 11 image
    for padding in ("border", "zeros"):
        def warp(image, src, dst, padding=padding):
            return ops.mesh_warp(image, src, dst, tris, padding=padding, return_grid=True, backend="compiled")[:2]

        inputs = [t.clone().requires_grad_() for t in (image, src, dst)]
        assert torch.autograd.gradcheck(warp, inputs, eps=1e-7, atol=1e-6)

    def grid_only(src, dst):
        return ops.mesh_warp_grid(src, dst, tris, (9, 11), backend="compiled")

    assert torch.autograd.gradcheck(grid_only, [src.clone().requires_grad_(), dst.clone().requires_grad_()])


def _raw_case(device):
    """The registered ops and a mesh case in the ops' own argument types (int32 triangles)."""
    image, src, dst, tris, _ = make_case("mesh", fresh_generator(), device=device)
    return torch.ops.portrait_animator, image, src, dst, tris.int()


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    require_kernel("mesh_warp", device)
    lib, image, src, dst, tris = _raw_case(device)
    h, w = image.shape[-2:]
    for return_grid, return_index in ((False, False), (True, True), (False, True)):
        torch.library.opcheck(lib.mesh_warp.default, (image, src, dst, tris, h + 2, w - 3, 1, return_grid,
                                                      return_index))
    grad_args = (image.clone().requires_grad_(), src.clone().requires_grad_(), dst.clone().requires_grad_())
    torch.library.opcheck(lib.mesh_warp.default, (*grad_args, tris, h, w, 0, True, True))
    warped, grid, index = lib.mesh_warp(image, src, dst, tris, h, w, 1, True, True)
    for mask in ([True, True, True], [False, True, True], [True, False, False]):
        for grad_grid in (None, torch.randn_like(grid)):
            torch.library.opcheck(lib.mesh_warp_backward.default,
                                  (torch.randn_like(warped), grad_grid, image, src, dst, tris, index, 1, mask))
    torch.library.opcheck(lib.mesh_warp_out.default, (image, src, dst, tris, 0, torch.empty_like(warped)))
    torch.library.opcheck(lib.mesh_warp_grid.default, (src, dst, tris, h, w))
    torch.library.opcheck(lib.mesh_warp_grid.default, (src.clone().requires_grad_(), dst, tris, h, w))
    torch.library.opcheck(lib.mesh_warp_grid_backward.default, (torch.randn_like(grid), src, dst, tris, index))


@pytest.mark.parametrize("device", DEVICES)
def test_out_buffer_is_fully_written(device):
    require_kernel("mesh_warp_out", device)
    gen = fresh_generator()
    image, src, dst, tris, _ = make_case("outside", gen, device=device)
    expected = ops.mesh_warp(image, src, dst, tris, out_size=(14, 45), backend="reference")
    out = poison_like(expected)
    assert ops.mesh_warp(image, src, dst, tris, out=out, backend="compiled") is out
    assert_close(out, expected, rtol=1e-4, atol=2e-5, what="out=")
    with pytest.raises(RuntimeError, match="out= does not support autograd"):
        ops.mesh_warp(image.requires_grad_(), src, dst, tris, out=out)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_inputs(device):
    require_kernel("mesh_warp", device)
    gen = fresh_generator()
    image, src, dst, tris, _ = make_case("mesh", gen, device=device)
    wide = torch.rand(2, 3, 23, 62, generator=gen).to(device)[..., ::2]  # strided columns
    channels_last = image.contiguous(memory_format=torch.channels_last)
    src_t = src.transpose(1, 2).contiguous().transpose(1, 2)  # same values, (N, 2, P) storage
    tris_np = tris.cpu().numpy()[:, ::-1].copy()[:, ::-1]  # numpy, negative-stride view of int64
    for img in (wide, channels_last):
        got = ops.mesh_warp(img, src_t, dst, tris_np, backend="compiled")
        ref = ops.mesh_warp(img.contiguous(), src, dst, tris, backend="reference")
        assert_close(got, ref, rtol=1e-4, atol=2e-5, what="non-contiguous")


@pytest.mark.parametrize("device", DEVICES)
def test_backward_survives_a_foreign_triangle_index(device):
    """The raw backward op given an index forward could not have produced (out of range, or naming a
    triangle that covers nothing because a vertex index is invalid) treats those pixels as uncovered
    instead of reading out of bounds."""
    require_kernel("mesh_warp_backward", device)
    gen = fresh_generator()
    image, src, dst, tris, _ = make_case("mesh", gen, device=device)
    bad_tris = torch.cat([tris.int(), torch.tensor([[0, 1, 10**6]], dtype=torch.int32, device=device)])
    index = torch.randint(-3, len(bad_tris) + 3, (image.shape[0], *image.shape[-2:]), generator=gen)
    index[..., 0] = len(bad_tris) - 1
    grad_out = torch.randn(image.shape, generator=gen).to(device)
    grads = torch.ops.portrait_animator.mesh_warp_backward(grad_out, None, image, src, dst, bad_tris,
                                                           index.int().to(device), 1, [True, True, True])
    for grad in grads:
        assert torch.isfinite(grad).all()


def test_bad_arguments_are_refused_with_a_clear_message():
    image = torch.rand(1, 3, 8, 8)
    pts = torch.rand(1, 5, 2) * 8
    with pytest.raises(ValueError, match=r"triangles index points 0\.\.5, but there are 5 points"):
        ops.mesh_warp(image, pts, pts, torch.tensor([[0, 1, 5]]))
    with pytest.raises(ValueError, match=r"src_points must be \(1, P, 2\)"):
        ops.mesh_warp(image, pts[0], pts, torch.tensor([[0, 1, 2]]))
    with pytest.raises(ValueError, match="padding must be one of"):
        ops.mesh_warp(image, pts, pts, torch.tensor([[0, 1, 2]]), padding="reflect")
    with pytest.raises(ValueError, match=r"image must be \(N, C, H, W\)"):
        ops.mesh_warp(image[0], pts, pts, torch.tensor([[0, 1, 2]]))


@pytest.mark.parametrize("device", DEVICES)
def test_the_raw_ops_refuse_mismatched_buffers_and_gradients(device):
    """The registered ops check what the Python wrapper would have: a caller of torch.ops directly gets
    the op's name and the problem, not a read past a buffer."""
    require_kernel("mesh_warp_backward", device)
    lib, image, src, dst, tris = _raw_case(device)
    h, w = image.shape[-2:]
    warped, grid, index = lib.mesh_warp(image, src, dst, tris, h, w, 1, True, True)
    with pytest.raises(RuntimeError, match=r"mesh_warp_out: out must be a contiguous \(N, C, H_out, W_out\)"):
        lib.mesh_warp_out(image, src, dst, tris, 1, warped[:, :1].clone())
    with pytest.raises(RuntimeError, match="mesh_warp_grid: points must be float32 or float64"):
        lib.mesh_warp_grid(src.half(), dst.half(), tris, h, w)
    with pytest.raises(RuntimeError, match="mesh_warp_grid_backward: grad_grid must be"):
        lib.mesh_warp_grid_backward(grid[..., :1].contiguous(), src, dst, tris, index)
    with pytest.raises(RuntimeError, match=r"mesh_warp_backward: grad_out must be \(N, C, H_out, W_out\)"):
        lib.mesh_warp_backward(warped.double(), None, image, src, dst, tris, index, 1, [True, True, True])
    with pytest.raises(RuntimeError, match="mesh_warp_backward: grad_grid must be"):
        lib.mesh_warp_backward(torch.randn_like(warped), grid.double(), image, src, dst, tris, index, 1,
                               [True, True, True])


def test_backend_choice(monkeypatch):
    require_kernel("mesh_warp", "cpu")
    image, src, dst, tris, _ = make_case("mesh", fresh_generator())
    assert "portrait_animator::mesh_warp" in ran_ops(lambda: ops.mesh_warp(image, src, dst, tris))
    monkeypatch.setenv(ops.BACKEND_ENV, "reference")
    assert not ran_ops(lambda: ops.mesh_warp(image, src, dst, tris))
    assert "portrait_animator::mesh_warp_grid" in ran_ops(
        lambda: ops.mesh_warp_grid(src, dst, tris, (5, 5), backend="compiled"))


def test_torch_compile_forward_and_backward():
    require_kernel("mesh_warp", "cpu")
    image, src, dst, tris, _ = make_case("mesh", fresh_generator())
    tris = tris.int()

    def loss(image, src, dst):
        result = ops.mesh_warp(image, src, dst, tris, return_grid=True)
        return result.image.square().mean() + result.grid.mean()

    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    inputs = [t.clone().requires_grad_() for t in (image, src, dst)]
    got = torch.autograd.grad(compiled(*inputs), inputs)
    expected = torch.autograd.grad(loss(*inputs), inputs)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)
