//! CPU kernels for the encoder's hot spots, used when the model runs on the CPU:
//!
//! - [`Int8Linear`]: a linear layer with int8 weights (one scale per output channel) and
//!   int8 activations (one scale per row, computed on the fly), multiplied with AVX-512 VNNI
//!   `vpdpbusd` — exact i32 accumulation, four times the multiply-adds per instruction of
//!   f32 FMA — with bias, residual and GELU applied while the results are stored.
//! - [`attention`]: self-attention of each sequence over its real tokens only, so padding
//!   costs nothing and a text's embedding does not depend on its batch; its scores and
//!   context are tiled products (4 queries × 32 keys or value columns per step) with fused
//!   multiply-adds.
//! - [`gelu`]: the exact-erf GELU. Both use a polynomial `exp` the compiler vectorises
//!   (libm's scalar `erff`/`expf` took a quarter of the encoder's time).
//!
//! Every function here falls back to plain Rust where AVX-512 is missing; [`Int8Linear::new`]
//! returns `None` where VNNI is missing, and the caller keeps the f32 layer.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, Device, Result, Storage, Tensor};
use rayon::prelude::*;

/// Calls `f` with the values of `t` (f32 on the CPU) in row-major order.
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(CpuStorage::F32(v)) => {
            let start = layout.start_offset();
            Ok(f(&v[start..start + t.elem_count()]))
        }
        _ => candle_core::bail!("CPU kernels need f32 tensors on the CPU"),
    }
}

/// Adding this to a float of magnitude below 2^22 rounds it to an integer (ties to even),
/// which then sits in the low mantissa bits: float→int without a saturating conversion,
/// so loops over it vectorise.
const ROUND: f32 = 12_582_912.0; // 1.5 × 2^23

/// `x` (|x| < 2^22) rounded to the nearest integer, ties to even.
#[inline(always)]
fn round_to_int(x: f32) -> i32 {
    (x + ROUND).to_bits().wrapping_sub(ROUND.to_bits()) as i32
}

/// `e^x` to within a few ulps for x in [-87, 88] and 0 below (Cody–Waite range reduction
/// and a degree-6 polynomial), branch-free so loops over it vectorise.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let underflow = x < -87.0;
    let x = x.clamp(-87.0, 88.0);
    let n = round_to_int(x * LOG2_E);
    let nf = n as f32;
    let r = x - nf * LN2_HI - nf * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let e = p * f32::from_bits((n.wrapping_add(127) as u32) << 23);
    if underflow { 0.0 } else { e }
}

/// GELU with the exact erf, erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let erf = (1.0 - poly * exp(-a * a)).copysign(z);
    0.5 * x * (1.0 + erf)
}

/// Runs `body` compiled for AVX-512 when the CPU has it, else as plain Rust.
macro_rules! vectorised {
    ($name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
                unsafe fn wide($($arg: $ty),*) $body
                if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512dq") && std::arch::is_x86_feature_detected!("avx512vl") {
                    // SAFETY: the CPU supports every feature `wide` is compiled for.
                    return unsafe { wide($($arg),*) };
                }
            }
            $body
        }
    };
}

vectorised!(gelu_slice(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = gelu_one(*x);
    }
});

/// Lanes of the partial sums and maxima below: independent accumulators let the compiler
/// vectorise reductions it may not reorder.
const LANES: usize = 16;

/// Queries the attention kernel handles together: each key or value row it loads feeds
/// this many of them.
const QUERY_TILE: usize = 4;
/// Keys per score tile and dimensions per context tile of the attention kernel (two
/// vectors of [`LANES`]): with [`QUERY_TILE`] queries, eight independent accumulators.
const KEY_TILE: usize = 2 * LANES;

/// `out[t][c] = Σ_{i<inner} a[t·a_stride + i] · b[i·b_stride + c]` for the [`QUERY_TILE`]
/// rows `t` of `a` and the `width` columns `c` of `b` (a multiple of [`KEY_TILE`]); `out` is
/// `[QUERY_TILE][width]`. Attention's two products: query rows by the keys stored as columns
/// (scores), and probability rows by the value rows (context).
fn tile_product(a: &[f32], a_stride: usize, b: &[f32], b_stride: usize, inner: usize, width: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx512::supported() {
        // SAFETY: the CPU has AVX-512 F; the kernel checks the slices' lengths.
        return unsafe { avx512::tile_product(a, a_stride, b, b_stride, inner, width, out) };
    }
    tile_product_plain(a, a_stride, b, b_stride, inner, width, out)
}

/// [`tile_product`] in plain Rust.
fn tile_product_plain(a: &[f32], a_stride: usize, b: &[f32], b_stride: usize, inner: usize, width: usize, out: &mut [f32]) {
    for (t, row) in out.chunks_exact_mut(width).take(QUERY_TILE).enumerate() {
        row.fill(0.0);
        for (i, x) in a[t * a_stride..][..inner].iter().enumerate() {
            for (o, y) in row.iter_mut().zip(&b[i * b_stride..][..width]) {
                *o += x * y;
            }
        }
    }
}

vectorised!(softmax_rows(scores: &mut [f32], stride: usize, len: usize, inv: &mut [f32]) {
    // Softmax over the first `len` entries of each row, unnormalised: the entries past `len`
    // become 0 and `inv` gets 1 / the row's sum.
    for (row, inv) in scores.chunks_exact_mut(stride).zip(inv.iter_mut()) {
        let mut lanes = [f32::NEG_INFINITY; LANES];
        for chunk in row[..len - len % LANES].chunks_exact(LANES) {
            for i in 0..LANES {
                lanes[i] = lanes[i].max(chunk[i]);
            }
        }
        let max = row[len - len % LANES..len].iter().fold(lanes.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)), |m, &x| m.max(x));
        for x in row[..len.next_multiple_of(LANES)].iter_mut() {
            *x = exp(*x - max);
        }
        row[len..].fill(0.0);
        let mut sums = [0f32; LANES];
        for chunk in row.chunks_exact(LANES) {
            for i in 0..LANES {
                sums[i] += chunk[i];
            }
        }
        *inv = 1.0 / sums.iter().sum::<f32>();
    }
});

/// Attention of every head over one sequence's `len` real tokens: `qkv` `[len.., 3 ×
/// hidden]` (queries already scaled), `out` `[len.., hidden]`, rows past `len` untouched.
fn attend(qkv: &[f32], len: usize, hidden: usize, heads: usize, out: &mut [f32]) {
    let (width, dim) = (3 * hidden, hidden / heads);
    // Keys are padded to whole tiles and each value row has room for a whole tile past
    // the last head, so the kernels run on full vectors (padding adds zeros to the sums,
    // columns past a head's own are computed and dropped). The query rows are padded to
    // whole tiles too; their results are dropped.
    let (padded_len, tile_width) = (len.next_multiple_of(KEY_TILE), dim.next_multiple_of(KEY_TILE));
    let v_stride = hidden + tile_width;
    let mut q = vec![0f32; len.next_multiple_of(QUERY_TILE) * hidden];
    let mut v = vec![0f32; len * v_stride];
    for (t, row) in qkv.chunks_exact(width).take(len).enumerate() {
        q[t * hidden..][..hidden].copy_from_slice(&row[..hidden]);
        v[t * v_stride..][..hidden].copy_from_slice(&row[2 * hidden..]);
    }
    let mut keys = vec![0f32; dim * padded_len];
    let mut scores = vec![0f32; QUERY_TILE * padded_len];
    let mut context = vec![0f32; QUERY_TILE * tile_width];
    let mut inv = [0f32; QUERY_TILE];
    for head in 0..heads {
        for (t, row) in qkv.chunks_exact(width).take(len).enumerate() {
            for (j, &k) in row[hidden + head * dim..][..dim].iter().enumerate() {
                keys[j * padded_len + t] = k;
            }
        }
        for (tile, queries) in q.chunks_exact(QUERY_TILE * hidden).enumerate() {
            tile_product(&queries[head * dim..], hidden, &keys, padded_len, dim, padded_len, &mut scores);
            softmax_rows(&mut scores, padded_len, len, &mut inv);
            tile_product(&scores, padded_len, &v[head * dim..], v_stride, len, tile_width, &mut context);
            let rows = out[tile * QUERY_TILE * hidden..len * hidden].chunks_exact_mut(hidden);
            for ((o, c), inv) in rows.zip(context.chunks_exact(tile_width)).zip(inv) {
                for (o, c) in o[head * dim..][..dim].iter_mut().zip(c) {
                    *o = c * inv;
                }
            }
        }
    }
}

vectorised!(quantise_rows(input: &[f32], k: usize, quantised: &mut [u8], scales: &mut [f32]) {
    for ((x, q), s) in input.chunks_exact(k).zip(quantised.chunks_exact_mut(k)).zip(scales.iter_mut()) {
        let mut lanes = [0f32; LANES];
        for chunk in x.chunks_exact(LANES) {
            for i in 0..LANES {
                lanes[i] = lanes[i].max(chunk[i].abs());
            }
        }
        let max = x[k - k % LANES..].iter().fold(lanes.iter().fold(0f32, |m, &v| m.max(v)), |m, v| m.max(v.abs()));
        *s = if max > 0.0 { max / 127.0 } else { 1.0 };
        let inv = 1.0 / *s;
        for (q, v) in q.iter_mut().zip(x) {
            // Offset by 128 into u8, the operand type `vpdpbusd` multiplies unsigned.
            *q = (round_to_int((v * inv).clamp(-127.0, 127.0)) + 128) as u8;
        }
    }
});

/// Rows per parallel task of the element-wise kernels.
const ROWS_PER_TASK: usize = 64;

/// Exact-erf GELU of every element of `x`.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    let mut out = with_values(x, <[f32]>::to_vec)?;
    let width = x.dims().last().copied().unwrap_or(1).max(1);
    out.par_chunks_mut(width * ROWS_PER_TASK).for_each(gelu_slice);
    Tensor::from_vec(out, x.shape(), x.device())
}

/// Multi-head self-attention of each sequence over its own tokens: `qkv` `[batch, len,
/// 3 × hidden]` holds queries (already scaled by 1/√d), keys and values; `lengths` are the
/// real tokens of each sequence (padding comes last). Returns `[batch, len, hidden]` with
/// zeros at padding. A sequence's result does not depend on what it is batched with —
/// padding is never touched, so the same text always gets the same embedding.
pub fn attention(qkv: &Tensor, lengths: &[usize], heads: usize) -> Result<Tensor> {
    let (batch, len, width) = qkv.dims3()?;
    let hidden = width / 3;
    if lengths.len() != batch || lengths.iter().any(|&l| l > len) || hidden % heads != 0 {
        candle_core::bail!("attention: lengths {lengths:?} or {heads} heads do not fit {:?}", qkv.shape());
    }
    let mut out = vec![0f32; batch * len * hidden];
    with_values(qkv, |x| {
        out.par_chunks_mut(len * hidden).zip(x.par_chunks(len * width)).zip(lengths).for_each(|((o, x), &l)| {
            attend(x, l, hidden, heads, o);
        })
    })?;
    Tensor::from_vec(out, (batch, len, hidden), qkv.device())
}

/// What [`Int8Linear::forward`] adds to `x · Wᵀ` besides the bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epilogue {
    /// Nothing.
    None,
    /// GELU of the result.
    Gelu,
    /// A residual tensor of the output's shape.
    Residual,
}

/// Output channels per packed weight block (two 512-bit registers of i32).
const BLOCK_N: usize = 32;
/// Rows of the input handled together by the micro-kernel.
const TILE_M: usize = 8;
/// Rows per parallel task.
const TASK_M: usize = 64;

/// A linear layer `y = x · Wᵀ + b` with int8 weights and activations.
pub struct Int8Linear {
    out_features: usize,
    in_features: usize,
    /// Weights as `[out/32][in/4][32][4]` i8, the layout `vpdpbusd` reads.
    packed: Vec<i8>,
    /// Scale of each output channel.
    scales: Vec<f32>,
    /// 128 × the sum of each channel's int8 weights (activations are stored offset by 128).
    offsets: Vec<i32>,
    bias: Vec<f32>,
}

/// Whether this CPU runs the int8 kernel.
pub fn int8_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl Int8Linear {
    /// Quantises `weight` `[out, in]` and keeps `bias` `[out]`; `None` when the CPU lacks
    /// AVX-512 VNNI or the shape does not fit the kernel (out % 32, in % 4).
    pub fn new(weight: &Tensor, bias: &Tensor) -> Result<Option<Self>> {
        let (out_features, in_features) = weight.dims2()?;
        if !int8_supported() || out_features % BLOCK_N != 0 || in_features % 4 != 0 || !weight.device().is_cpu() {
            return Ok(None);
        }
        let bias: Vec<f32> = with_values(bias, <[f32]>::to_vec)?;
        let groups = in_features / 4;
        let mut packed = vec![0i8; out_features * in_features];
        let mut scales = Vec::with_capacity(out_features);
        let mut offsets = Vec::with_capacity(out_features);
        with_values(weight, |w| {
            for (n, row) in w.chunks_exact(in_features).enumerate() {
                let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
                let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
                let (block, lane) = (n / BLOCK_N, n % BLOCK_N);
                let mut sum = 0i32;
                for (k, x) in row.iter().enumerate() {
                    let q = (x / scale).round().clamp(-127.0, 127.0) as i8;
                    packed[((block * groups + k / 4) * BLOCK_N + lane) * 4 + k % 4] = q;
                    sum += q as i32;
                }
                scales.push(scale);
                offsets.push(128 * sum);
            }
        })?;
        Ok(Some(Self { out_features, in_features, packed, scales, offsets, bias }))
    }

    /// `x · Wᵀ + b` for `x` `[…, in]`, followed by `epilogue` (`residual` has the output's
    /// shape and is needed for [`Epilogue::Residual`]).
    pub fn forward(&self, x: &Tensor, epilogue: Epilogue, residual: Option<&Tensor>) -> Result<Tensor> {
        let mut dims = x.dims().to_vec();
        let k = dims.pop().unwrap_or(0);
        if k != self.in_features {
            candle_core::bail!("int8 linear expects {} inputs, got {:?}", self.in_features, x.shape());
        }
        let m = x.elem_count() / k.max(1);
        dims.push(self.out_features);
        let n = self.out_features;
        // Not zeroed first: the kernel writes every element.
        let mut out: Vec<f32> = Vec::with_capacity(m * n);
        let residual = match (epilogue, residual) {
            (Epilogue::Residual, Some(r)) if r.elem_count() == m * n => Some(r),
            (Epilogue::Residual, Some(r)) => candle_core::bail!("residual {:?} does not fit the output {dims:?}", r.shape()),
            (Epilogue::Residual, None) => candle_core::bail!("residual epilogue without a residual"),
            _ => None,
        };
        let mut run = |xs: &[f32], residual: Option<&[f32]>| {
            out.spare_capacity_mut()[..m * n].par_chunks_mut(TASK_M * n).enumerate().for_each(|(task, out)| {
                let rows = out.len() / n;
                let start = task * TASK_M;
                let input = &xs[start * k..(start + rows) * k];
                let residual = residual.map(|r| &r[start * n..(start + rows) * n]);
                let out = self.rows(input, rows, out, residual);
                if epilogue == Epilogue::Gelu {
                    gelu_slice(out);
                }
            })
        };
        // The residual is read in place, not copied.
        with_values(x, |xs| match residual {
            Some(r) => with_values(r, |r| run(xs, Some(r))),
            None => {
                run(xs, None);
                Ok(())
            }
        })??;
        // SAFETY: `rows` initialised all m × n elements.
        unsafe { out.set_len(m * n) };
        Tensor::from_vec(out, dims, &Device::Cpu)
    }

    /// Quantises `rows` rows of `input` and writes their outputs (plus `residual`) into
    /// every element of `out`, which it returns initialised.
    fn rows<'a>(&self, input: &[f32], rows: usize, out: &'a mut [MaybeUninit<f32>], residual: Option<&[f32]>) -> &'a mut [f32] {
        let k = self.in_features;
        let mut quantised = vec![0u8; rows * k];
        let mut row_scales = vec![0f32; rows];
        quantise_rows(input, k, &mut quantised, &mut row_scales);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `new` only builds an Int8Linear where the CPU has AVX-512 F/BW/VNNI, and the
        // slices have the lengths the kernel indexes: rows × in, rows × out.
        unsafe {
            vnni::matmul(self, &quantised, &row_scales, rows, out.as_mut_ptr().cast(), residual);
            // SAFETY: the kernel wrote every one of the rows × out elements.
            &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32])
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (quantised, row_scales, out, residual);
            unreachable!("Int8Linear::new returns None off x86-64");
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    use super::{Int8Linear, BLOCK_N, TILE_M};

    /// All output blocks for `rows` quantised rows.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn matmul(l: &Int8Linear, x: &[u8], row_scales: &[f32], rows: usize, out: *mut f32, residual: Option<&[f32]>) {
        let n = l.out_features;
        for block in 0..n / BLOCK_N {
            let mut r = 0;
            while r + TILE_M <= rows {
                tile::<TILE_M>(l, x, row_scales, r, block, out, residual);
                r += TILE_M;
            }
            while r + 4 <= rows {
                tile::<4>(l, x, row_scales, r, block, out, residual);
                r += 4;
            }
            while r < rows {
                tile::<1>(l, x, row_scales, r, block, out, residual);
                r += 1;
            }
        }
    }

    /// Rows `row..row + R` × output channels `block*32..block*32 + 32`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn tile<const R: usize>(
        l: &Int8Linear,
        x: &[u8],
        row_scales: &[f32],
        row: usize,
        block: usize,
        out: *mut f32,
        residual: Option<&[f32]>,
    ) {
        let (k, n) = (l.in_features, l.out_features);
        let groups = k / 4;
        let mut acc = [[_mm512_setzero_si512(); 2]; R];
        let w = l.packed.as_ptr().add(block * groups * BLOCK_N * 4);
        let xp = x.as_ptr().add(row * k);
        for g in 0..groups {
            let w0 = _mm512_loadu_si512(w.add(g * 128) as *const _);
            let w1 = _mm512_loadu_si512(w.add(g * 128 + 64) as *const _);
            for (r, acc) in acc.iter_mut().enumerate() {
                let a = _mm512_set1_epi32(std::ptr::read_unaligned(xp.add(r * k + g * 4) as *const i32));
                acc[0] = _mm512_dpbusd_epi32(acc[0], a, w0);
                acc[1] = _mm512_dpbusd_epi32(acc[1], a, w1);
            }
        }
        let col = block * BLOCK_N;
        for (r, acc) in acc.iter().enumerate() {
            let row_scale = _mm512_set1_ps(row_scales[row + r]);
            for (half, acc) in acc.iter().enumerate() {
                let c = col + half * 16;
                let offsets = _mm512_loadu_si512(l.offsets.as_ptr().add(c) as *const _);
                let scales = _mm512_mul_ps(_mm512_loadu_ps(l.scales.as_ptr().add(c)), row_scale);
                let bias = _mm512_loadu_ps(l.bias.as_ptr().add(c));
                let mut v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(*acc, offsets)), scales, bias);
                let at = (row + r) * n + c;
                if let Some(res) = residual {
                    v = _mm512_add_ps(v, _mm512_loadu_ps(res.as_ptr().add(at)));
                }
                _mm512_storeu_ps(out.add(at), v);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{KEY_TILE, LANES, QUERY_TILE};

    pub(super) fn supported() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    /// [`super::tile_product`]: per 32 columns, eight accumulators (4 rows × 2 vectors).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tile_product(a: &[f32], a_stride: usize, b: &[f32], b_stride: usize, inner: usize, width: usize, out: &mut [f32]) {
        assert!(
            a.len() >= (QUERY_TILE - 1) * a_stride + inner
                && (inner == 0 || b.len() >= (inner - 1) * b_stride + width)
                && out.len() >= QUERY_TILE * width
                && width.is_multiple_of(KEY_TILE),
            "tile product: slices too short"
        );
        let (a, b, o) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
        for at in (0..width).step_by(KEY_TILE) {
            let mut acc = [[_mm512_setzero_ps(); 2]; QUERY_TILE];
            for i in 0..inner {
                let b0 = _mm512_loadu_ps(b.add(i * b_stride + at));
                let b1 = _mm512_loadu_ps(b.add(i * b_stride + at + LANES));
                for (t, acc) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*a.add(t * a_stride + i));
                    acc[0] = _mm512_fmadd_ps(x, b0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(x, b1, acc[1]);
                }
            }
            for (t, acc) in acc.iter().enumerate() {
                _mm512_storeu_ps(o.add(t * width + at), acc[0]);
                _mm512_storeu_ps(o.add(t * width + at + LANES), acc[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_and_exp_match_libm() -> Result<()> {
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 / 200.0).collect();
        for &x in &xs {
            assert!((exp(x) - x.exp()).abs() <= 4e-7 * x.exp().max(1.0), "exp({x}): {} vs {}", exp(x), x.exp());
        }
        let t = Tensor::new(xs.as_slice(), &Device::Cpu)?;
        let want = t.gelu_erf()?.to_vec1::<f32>()?;
        for ((x, got), want) in xs.iter().zip(gelu(&t)?.to_vec1::<f32>()?).zip(want) {
            assert!((got - want).abs() < 2e-6 * want.abs().max(1.0), "gelu({x}): {got} vs {want}");
        }
        Ok(())
    }

    #[test]
    fn attention_matches_candle_and_ignores_what_it_is_batched_with() -> Result<()> {
        let dev = Device::Cpu;
        let (heads, dim, len) = (3, 20, 23);
        let hidden = heads * dim;
        let qkv = Tensor::randn(0f32, 1.0, (2, len, 3 * hidden), &dev)?;
        let lengths = [len, 17];
        let got = attention(&qkv, &lengths, heads)?;
        for (b, &l) in lengths.iter().enumerate() {
            // Reference: candle ops on the sequence's real tokens only.
            let x = qkv.get(b)?.narrow(0, 0, l)?.reshape((l, 3, heads, dim))?.permute((1, 2, 0, 3))?;
            let (q, k, v) = (x.get(0)?.contiguous()?, x.get(1)?.contiguous()?, x.get(2)?.contiguous()?);
            let p = candle_nn::ops::softmax_last_dim(&q.matmul(&k.t()?)?)?;
            let want = p.matmul(&v)?.transpose(0, 1)?.reshape((l, hidden))?;
            let err = (got.get(b)?.narrow(0, 0, l)? - want)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(err < 1e-5, "sequence {b}: max error {err}");
            let padding = got.get(b)?.narrow(0, l, len - l)?.abs()?.sum_all()?.to_scalar::<f32>()?;
            assert_eq!(padding, 0.0);
        }
        // The shorter sequence alone, without padding, gives bit-identical values.
        let alone = attention(&qkv.get(1)?.narrow(0, 0, 17)?.unsqueeze(0)?.contiguous()?, &[17], heads)?;
        assert_eq!(alone.get(0)?.to_vec2::<f32>()?, got.get(1)?.narrow(0, 0, 17)?.to_vec2::<f32>()?);
        Ok(())
    }

    #[test]
    fn int8_linear_is_close_to_f32() -> Result<()> {
        if !int8_supported() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return Ok(());
        }
        let dev = Device::Cpu;
        let (m, k, n) = (37, 96, 64); // a remainder tile and two output blocks
        let x = Tensor::randn(0f32, 1.0, (m, k), &dev)?;
        let w = Tensor::randn(0f32, 0.1, (n, k), &dev)?;
        let b = Tensor::randn(0f32, 0.1, n, &dev)?;
        let r = Tensor::randn(0f32, 1.0, (m, n), &dev)?;
        let layer = Int8Linear::new(&w, &b)?.expect("supported shape");
        let exact = x.matmul(&w.t()?)?.broadcast_add(&b)?;
        let close = |got: &Tensor, want: &Tensor| -> Result<()> {
            let err = (got - want)?.abs()?.max_all()?.to_scalar::<f32>()?;
            let scale = want.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(err < 0.02 * scale, "max error {err} for values up to {scale}");
            Ok(())
        };
        close(&layer.forward(&x, Epilogue::None, None)?, &exact)?;
        close(&layer.forward(&x, Epilogue::Residual, Some(&r))?, &(&exact + &r)?)?;
        close(&layer.forward(&x, Epilogue::Gelu, None)?, &exact.gelu_erf()?)?;
        Ok(())
    }


    #[test]
    fn the_tile_product_agrees_with_its_plain_version() {
        // Strides and sizes as one head's scores (20 dimensions, 64 keys) and context (45
        // keys, 32 columns) of a 3-head, 20-wide sequence.
        let stride = 60;
        let values: Vec<f32> = (0..4 * stride * 64).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
        for (a, a_stride, b, b_stride, inner, width) in [(&values[5..], stride, &values[..20 * 64], 64, 20, 64), (&values[..], 64, &values[7..], stride, 45, KEY_TILE)] {
            let (mut vector, mut plain) = (vec![0f32; QUERY_TILE * width], vec![0f32; QUERY_TILE * width]);
            tile_product(a, a_stride, b, b_stride, inner, width, &mut vector);
            tile_product_plain(a, a_stride, b, b_stride, inner, width, &mut plain);
            assert!(vector.iter().zip(&plain).all(|(x, y)| (x - y).abs() < 1e-4), "inner {inner}, width {width}: products differ");
        }
    }
}
