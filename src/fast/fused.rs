//! Operaciones fusionadas para la CPU: la misma función que las versiones del libro
//! (hechas con operaciones sueltas de candle), pero en una sola pasada por los datos y con
//! su derivada escrita a mano. Cada operación suelta de candle recorre la memoria entera y
//! guarda su resultado para la retropropagación; aquí una fila se lee una vez.
//!
//! - [`causal_softmax`]: softmax de las filas con la máscara causal (el futuro vale 0).
//! - [`layer_norm`]: `(x − media) / √(varianza + ε) ⊙ w + b` sobre la última dimensión.
//! - [`cross_entropy`]: la entropía cruzada media de unos logits `(N, C)`.
//! - [`dropout_with_mask`] y [`adamw_update`], un paso de AdamW en su sitio.
//!
//! La capa lineal y la atención de varias cabezas tienen sus propios módulos
//! ([`crate::fast::fused_linear`], [`crate::fast::fused_attention`]). Solo hay versión de CPU
//! (en `f32` y `f64`); [`crate::fast::kernels::Fast`] las junta en un modelo. Las pruebas
//! comprueban que dan lo mismo que las versiones del libro, derivadas incluidas.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use num_traits::Float;

/// El trozo contiguo de datos de un tensor, o un error si no lo es.
pub(crate) fn contiguous<'a, T>(data: &'a [T], layout: &Layout) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("operación fusionada: se esperaba un tensor contiguo"),
    }
}

fn last_dim(layout: &Layout) -> Result<usize> {
    match layout.dims().last() {
        Some(&d) if d > 0 => Ok(d),
        _ => candle_core::bail!("operación fusionada: la última dimensión no puede estar vacía"),
    }
}

/// Aplica `f` a una o dos entradas de tipo `f32` o `f64` y devuelve el resultado.
macro_rules! float_dispatch {
    ($s:expr, |$x:ident| $body:expr) => {
        match $s {
            CpuStorage::F32($x) => CpuStorage::F32($body),
            CpuStorage::F64($x) => CpuStorage::F64($body),
            _ => candle_core::bail!("operación fusionada: solo f32 y f64"),
        }
    };
    ($s1:expr, $s2:expr, |$x:ident, $y:ident| $body:expr) => {
        match ($s1, $s2) {
            (CpuStorage::F32($x), CpuStorage::F32($y)) => CpuStorage::F32($body),
            (CpuStorage::F64($x), CpuStorage::F64($y)) => CpuStorage::F64($body),
            _ => candle_core::bail!("operación fusionada: solo f32 y f64, iguales"),
        }
    };
    ($s1:expr, $s2:expr, $s3:expr, |$x:ident, $y:ident, $z:ident| $body:expr) => {
        match ($s1, $s2, $s3) {
            (CpuStorage::F32($x), CpuStorage::F32($y), CpuStorage::F32($z)) => {
                CpuStorage::F32($body)
            }
            (CpuStorage::F64($x), CpuStorage::F64($y), CpuStorage::F64($z)) => {
                CpuStorage::F64($body)
            }
            _ => candle_core::bail!("operación fusionada: solo f32 y f64, iguales"),
        }
    };
}

// ---------------------------------------------------------------------------------------
// Softmax causal.
// ---------------------------------------------------------------------------------------

struct CausalSoftmax;
struct CausalSoftmaxBackward;

/// Softmax de cada fila de las matrices `(T, T)` de las dos últimas dimensiones, sin mirar
/// el futuro: en la fila `i` solo cuentan las columnas `j ≤ i`; las demás valen 0.
/// Equivale a `masked_softmax(x, causal_mask(T))`.
pub fn causal_softmax(x: &Tensor) -> Result<Tensor> {
    let (t1, t2) = (x.dim(x.rank() - 2)?, x.dim(x.rank() - 1)?);
    if t1 != t2 {
        candle_core::bail!("softmax causal: se esperaban matrices cuadradas, no {t1}×{t2}");
    }
    x.contiguous()?.apply_op1(CausalSoftmax)
}

// ANCHOR: softmax_causal
fn causal_softmax_rows<T: Float>(x: &[T], t: usize) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    for (r, (xr, yr)) in x.chunks_exact(t).zip(y.chunks_exact_mut(t)).enumerate() {
        let visible = r % t + 1; // la fila i ve las columnas 0..=i
        let max = xr[..visible]
            .iter()
            .fold(T::neg_infinity(), |m, &v| m.max(v));
        let mut sum = T::zero();
        for (yv, &xv) in yr[..visible].iter_mut().zip(&xr[..visible]) {
            *yv = (xv - max).exp();
            sum = sum + *yv;
        }
        let inv = T::one() / sum;
        yr[..visible].iter_mut().for_each(|v| *v = *v * inv);
    }
    y
}

/// `dx = y ⊙ (dy − Σⱼ yⱼ dyⱼ)`, fila a fila (donde y = 0, dx = 0).
fn softmax_backward_rows<T: Float>(y: &[T], dy: &[T], t: usize) -> Vec<T> {
    let mut dx = vec![T::zero(); y.len()];
    for ((yr, dyr), dxr) in y
        .chunks_exact(t)
        .zip(dy.chunks_exact(t))
        .zip(dx.chunks_exact_mut(t))
    {
        let dot = lane_sum(yr, dyr, |a, b| a * b);
        for ((d, &a), &b) in dxr.iter_mut().zip(yr).zip(dyr) {
            *d = a * (b - dot);
        }
    }
    dx
}
// ANCHOR_END: softmax_causal

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "softmax-causal"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let t = last_dim(l)?;
        let out = float_dispatch!(s, |x| causal_softmax_rows(contiguous(x, l)?, t));
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let dy = grad_res.contiguous()?;
        Ok(Some(res.apply_op2_no_bwd(&dy, &CausalSoftmaxBackward)?))
    }
}

impl CustomOp2 for CausalSoftmaxBackward {
    fn name(&self) -> &'static str {
        "softmax-causal-derivada"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let t = last_dim(l1)?;
        let out = float_dispatch!(s1, s2, |y, dy| softmax_backward_rows(
            contiguous(y, l1)?,
            contiguous(dy, l2)?,
            t
        ));
        Ok((out, l1.shape().clone()))
    }
}

// ---------------------------------------------------------------------------------------
// Sumas de una fila y la derivada de la normalización (el corazón de LayerNorm).
// ---------------------------------------------------------------------------------------

/// `Σᵢ f(aᵢ, bᵢ)` con ocho sumas parciales. Una suma en serie no se vectoriza (el compilador
/// no puede cambiar el orden, porque cambiaría el redondeo); ocho sumas independientes, sí.
#[inline(always)]
pub(crate) fn lane_sum<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(T::zero(), |s, (&x, &y)| s + f(x, y));
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] = acc[i] + f(x[i], y[i]);
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// Media y `1/√(varianza + eps)` de una fila.
fn row_stats<T: Float>(row: &[T], eps: f64) -> (T, T) {
    let n = T::from(row.len()).expect("longitud representable");
    let mean = lane_sum(row, row, |v, _| v) / n;
    let var = lane_sum(row, row, |v, _| (v - mean) * (v - mean)) / n;
    let rstd = T::one() / (var + T::from(eps).expect("eps representable")).sqrt();
    (mean, rstd)
}

// ANCHOR: normalize_backward
/// Con `x̂ = (x − media)·r`: `dx = r · (dy − media(dy) − x̂ · media(dy ⊙ x̂))`.
fn normalize_backward_rows<T: Float>(x: &[T], dy: &[T], c: usize, eps: f64) -> Vec<T> {
    let n = T::from(c).expect("longitud representable");
    let mut dx = vec![T::zero(); x.len()];
    for ((xr, dyr), dxr) in x
        .chunks_exact(c)
        .zip(dy.chunks_exact(c))
        .zip(dx.chunks_exact_mut(c))
    {
        let (mean, rstd) = row_stats(xr, eps);
        let sum_dy = lane_sum(dyr, dyr, |d, _| d);
        let sum_dy_xhat = lane_sum(xr, dyr, |xv, d| d * (xv - mean)) * rstd;
        let (mean_dy, mean_dy_xhat) = (sum_dy / n, sum_dy_xhat / n);
        for ((out, &xv), &d) in dxr.iter_mut().zip(xr).zip(dyr) {
            let xhat = (xv - mean) * rstd;
            *out = rstd * (d - mean_dy - xhat * mean_dy_xhat);
        }
    }
    dx
}
// ANCHOR_END: normalize_backward

// ---------------------------------------------------------------------------------------
// Entropía cruzada.
// ---------------------------------------------------------------------------------------

struct CrossEntropy;
struct CrossEntropyGrad;

/// La entropía cruzada media de `logits (N, C)` con objetivos `targets (N,)` de tipo `u32`.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let (n, _) = logits.dims2()?;
    if targets.dims1()? != n {
        candle_core::bail!(
            "entropía cruzada: {n} filas de logits y {} objetivos",
            targets.dims1()?
        );
    }
    logits
        .contiguous()?
        .apply_op2(&targets.contiguous()?, CrossEntropy)
}

fn targets_of<'a>(s: &'a CpuStorage, l: &Layout, c: usize) -> Result<&'a [u32]> {
    let CpuStorage::U32(t) = s else {
        candle_core::bail!("entropía cruzada: los objetivos deben ser u32");
    };
    let t = contiguous(t, l)?;
    if let Some(bad) = t.iter().find(|&&v| v as usize >= c) {
        candle_core::bail!("entropía cruzada: objetivo {bad} fuera de 0..{c}");
    }
    Ok(t)
}

/// `ln Σ exp(z)` de una fila, restando el máximo.
fn log_sum_exp<T: Float>(row: &[T]) -> T {
    let max = row.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    max + row.iter().fold(T::zero(), |s, &v| s + (v - max).exp()).ln()
}

fn cross_entropy_mean<T: Float>(z: &[T], targets: &[u32], c: usize) -> Vec<T> {
    let total = z
        .chunks_exact(c)
        .zip(targets)
        .fold(T::zero(), |s, (row, &t)| {
            s + log_sum_exp(row) - row[t as usize]
        });
    vec![total / T::from(targets.len()).expect("longitud representable")]
}

/// `(softmax(fila) − one_hot(objetivo)) / N` en cada fila.
fn cross_entropy_grad_rows<T: Float>(z: &[T], targets: &[u32], c: usize) -> Vec<T> {
    let n = T::from(targets.len()).expect("longitud representable");
    let mut grad = vec![T::zero(); z.len()];
    for ((row, g), &t) in z.chunks_exact(c).zip(grad.chunks_exact_mut(c)).zip(targets) {
        let lse = log_sum_exp(row);
        for (gv, &zv) in g.iter_mut().zip(row) {
            *gv = (zv - lse).exp() / n;
        }
        g[t as usize] = g[t as usize] - T::one() / n;
    }
    grad
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "entropia-cruzada"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let c = last_dim(l1)?;
        let targets = targets_of(s2, l2, c)?;
        let out = float_dispatch!(s1, |z| cross_entropy_mean(contiguous(z, l1)?, targets, c));
        Ok((out, Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = logits.apply_op2_no_bwd(targets, &CrossEntropyGrad)?;
        Ok((Some(grad.broadcast_mul(grad_res)?), None))
    }
}

impl CustomOp2 for CrossEntropyGrad {
    fn name(&self) -> &'static str {
        "entropia-cruzada-derivada"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let c = last_dim(l1)?;
        let targets = targets_of(s2, l2, c)?;
        let out = float_dispatch!(s1, |z| cross_entropy_grad_rows(
            contiguous(z, l1)?,
            targets,
            c
        ));
        Ok((out, l1.shape().clone()))
    }
}

// ---------------------------------------------------------------------------------------
// Sumas por columnas, y LayerNorm entera.
// ---------------------------------------------------------------------------------------
//
// La derivada de un vector sumado a cada fila (un sesgo) es la suma de las filas de la
// derivada. candle la calcula con una reducción genérica que divide para hallar cada índice;
// aquí es un bucle contiguo que el compilador vectoriza.

struct ColumnSums;
struct LayerNormOp {
    eps: f64,
}
struct LayerNormBackwardX {
    eps: f64,
}
struct LayerNormParamGrads {
    eps: f64,
}

/// La suma de las filas de `x (…, C)`: la derivada de un sesgo sumado a cada fila.
pub(crate) fn column_sums_no_grad(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&ColumnSums)
}

/// LayerNorm completa: `(x − media) / √(varianza + eps) ⊙ w + b`, con sus tres derivadas escritas a mano.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, LayerNormOp { eps })
}

fn check_row_vector(l_x: &Layout, l_v: &Layout) -> Result<usize> {
    let c = last_dim(l_x)?;
    if l_v.dims() != [c] {
        candle_core::bail!(
            "operación fusionada: se esperaba un vector de {c} elementos, no {:?}",
            l_v.dims()
        );
    }
    Ok(c)
}

fn column_sums<T: Float>(x: &[T], c: usize) -> Vec<T> {
    let mut sums = vec![T::zero(); c];
    for row in x.chunks_exact(c) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s = *s + v;
        }
    }
    sums
}

impl CustomOp1 for ColumnSums {
    fn name(&self) -> &'static str {
        "sumar-filas"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let c = last_dim(l)?;
        let out = float_dispatch!(s, |x| column_sums(contiguous(x, l)?, c));
        Ok((out, Shape::from(c)))
    }
}

fn layer_norm_rows<T: Float>(x: &[T], w: &[T], b: &[T], c: usize, eps: f64) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    for (xr, yr) in x.chunks_exact(c).zip(y.chunks_exact_mut(c)) {
        let (mean, rstd) = row_stats(xr, eps);
        for (((yv, &xv), &wv), &bv) in yr.iter_mut().zip(xr).zip(w).zip(b) {
            *yv = (xv - mean) * rstd * wv + bv;
        }
    }
    y
}

/// `[Σ dy ⊙ x̂ ; Σ dy]` sobre las filas: las derivadas de la escala y del sesgo.
fn layer_norm_param_grads<T: Float>(x: &[T], dy: &[T], c: usize, eps: f64) -> Vec<T> {
    let mut out = vec![T::zero(); 2 * c];
    let (dw, db) = out.split_at_mut(c);
    for (xr, dyr) in x.chunks_exact(c).zip(dy.chunks_exact(c)) {
        let (mean, rstd) = row_stats(xr, eps);
        for (((dwv, dbv), &xv), &d) in dw.iter_mut().zip(db.iter_mut()).zip(xr).zip(dyr) {
            *dwv = *dwv + d * (xv - mean) * rstd;
            *dbv = *dbv + d;
        }
    }
    out
}

impl candle_core::CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let c = check_row_vector(l1, l2)?;
        check_row_vector(l1, l3)?;
        let out = float_dispatch!(s1, s2, s3, |x, w, b| layer_norm_rows(
            contiguous(x, l1)?,
            contiguous(w, l2)?,
            contiguous(b, l3)?,
            c,
            self.eps
        ));
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = grad_res.contiguous()?;
        // dx: la derivada de la normalización aplicada a dy ⊙ w.
        let dx = x.apply_op3_no_bwd(w, &dy, &LayerNormBackwardX { eps: self.eps })?;
        let both = x.apply_op2_no_bwd(&dy, &LayerNormParamGrads { eps: self.eps })?;
        let c = w.dim(0)?;
        Ok((
            Some(dx),
            Some(both.narrow(0, 0, c)?),
            Some(both.narrow(0, c, c)?),
        ))
    }
}

impl candle_core::CustomOp3 for LayerNormBackwardX {
    fn name(&self) -> &'static str {
        "layer-norm-derivada-x"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        fn run<T: Float>(x: &[T], w: &[T], dy: &[T], c: usize, eps: f64) -> Vec<T> {
            let scaled: Vec<T> = dy
                .chunks_exact(c)
                .flat_map(|row| row.iter().zip(w).map(|(&d, &wv)| d * wv))
                .collect();
            normalize_backward_rows(x, &scaled, c, eps)
        }
        let c = check_row_vector(l1, l2)?;
        let out = float_dispatch!(s1, s2, s3, |x, w, dy| run(
            contiguous(x, l1)?,
            contiguous(w, l2)?,
            contiguous(dy, l3)?,
            c,
            self.eps
        ));
        Ok((out, l1.shape().clone()))
    }
}

impl CustomOp2 for LayerNormParamGrads {
    fn name(&self) -> &'static str {
        "layer-norm-derivada-parametros"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let c = last_dim(l1)?;
        let out = float_dispatch!(s1, s2, |x, dy| layer_norm_param_grads(
            contiguous(x, l1)?,
            contiguous(dy, l2)?,
            c,
            self.eps
        ));
        Ok((out, Shape::from(2 * c)))
    }
}

// ---------------------------------------------------------------------------------------
// AdamW en su sitio.
// ---------------------------------------------------------------------------------------
//
// La versión con tensores crea una docena de tensores intermedios por parámetro y paso; aquí
// tres pasadas que escriben en la memoria de `m`, `v` y el propio parámetro.

/// Los números de un paso de AdamW.
#[derive(Debug, Clone, Copy)]
pub struct AdamWStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// `1 − β₁ᵗ` y `1 − β₂ᵗ`: las correcciones del sesgo de este paso.
    pub bias1: f64,
    pub bias2: f64,
}

struct MomentUpdate {
    beta: f64,
    square: bool,
}
struct ParamUpdate(AdamWStep);

/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²` y
/// `θ ← θ(1 − lr·λ) − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`, escribiendo en `theta`, `m`, `v`.
/// Los cuatro tensores deben ser contiguos, de la CPU y del mismo tipo (`f32` o `f64`).
pub fn adamw_update(
    theta: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    s: AdamWStep,
) -> Result<()> {
    let g = g.contiguous()?;
    m.inplace_op2(
        &g,
        &MomentUpdate {
            beta: s.beta1,
            square: false,
        },
    )?;
    v.inplace_op2(
        &g,
        &MomentUpdate {
            beta: s.beta2,
            square: true,
        },
    )?;
    theta.inplace_op3(m, v, &ParamUpdate(s))
}

fn contiguous_mut<'a, T>(data: &'a mut [T], layout: &Layout) -> Result<&'a mut [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&mut data[start..end]),
        None => candle_core::bail!("operación fusionada: se esperaba un tensor contiguo"),
    }
}

// Las cuentas se hacen en f64 y se redondean al final, como las operaciones `affine` de
// candle que usa la versión con tensores.
fn moment_update<T: Float>(m: &mut [T], g: &[T], beta: f64, square: bool) {
    for (mv, &gv) in m.iter_mut().zip(g) {
        let gv = gv.to_f64().expect("float");
        let x = if square { gv * gv } else { gv };
        *mv = T::from(beta * mv.to_f64().expect("float") + (1.0 - beta) * x).expect("float");
    }
}

fn param_update<T: Float>(theta: &mut [T], m: &[T], v: &[T], s: AdamWStep) {
    let decay = 1.0 - s.lr * s.weight_decay;
    for ((w, &mv), &vv) in theta.iter_mut().zip(m).zip(v) {
        let (mv, vv) = (mv.to_f64().expect("float"), vv.to_f64().expect("float"));
        let update = (mv / s.bias1) / ((vv / s.bias2).sqrt() + s.eps);
        *w = T::from(w.to_f64().expect("float") * decay - update * s.lr).expect("float");
    }
}

impl candle_core::InplaceOp2 for MomentUpdate {
    fn name(&self) -> &'static str {
        "adamw-momento"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        if l1.shape() != l2.shape() {
            candle_core::bail!("adamw: el momento y el gradiente tienen formas distintas");
        }
        match (s1, s2) {
            (CpuStorage::F32(m), CpuStorage::F32(g)) => moment_update(
                contiguous_mut(m, l1)?,
                contiguous(g, l2)?,
                self.beta,
                self.square,
            ),
            (CpuStorage::F64(m), CpuStorage::F64(g)) => moment_update(
                contiguous_mut(m, l1)?,
                contiguous(g, l2)?,
                self.beta,
                self.square,
            ),
            _ => candle_core::bail!("operación fusionada: solo f32 y f64, iguales"),
        }
        Ok(())
    }
}

impl candle_core::InplaceOp3 for ParamUpdate {
    fn name(&self) -> &'static str {
        "adamw-parametro"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<()> {
        if l1.shape() != l2.shape() || l1.shape() != l3.shape() {
            candle_core::bail!("adamw: el parámetro y sus momentos tienen formas distintas");
        }
        match (s1, s2, s3) {
            (CpuStorage::F32(w), CpuStorage::F32(m), CpuStorage::F32(v)) => param_update(
                contiguous_mut(w, l1)?,
                contiguous(m, l2)?,
                contiguous(v, l3)?,
                self.0,
            ),
            (CpuStorage::F64(w), CpuStorage::F64(m), CpuStorage::F64(v)) => param_update(
                contiguous_mut(w, l1)?,
                contiguous(m, l2)?,
                contiguous(v, l3)?,
                self.0,
            ),
            _ => candle_core::bail!("operación fusionada: solo f32 y f64, iguales"),
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Dropout con la máscara en bytes.
// ---------------------------------------------------------------------------------------
//
// La versión del libro guarda la máscara como `f32` (0 o 1/(1−p)): cuatro bytes por valor,
// que el grafo conserva hasta el backward. Con un byte por valor, la configuración del
// cuaderno ahorra gigas de memoria.

struct MaskedScale {
    scale: f64,
}

/// `x ⊙ mask · scale`, con `mask` de tipo `u8` (1 = se queda, 0 = se apaga) y la misma forma.
pub fn dropout_with_mask(x: &Tensor, mask: &Tensor, scale: f64) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&mask.contiguous()?, MaskedScale { scale })
}

fn masked_scale<T: Float>(x: &[T], mask: &[u8], scale: f64) -> Vec<T> {
    let s = T::from(scale).expect("escala representable");
    x.iter()
        .zip(mask)
        .map(|(&v, &m)| if m != 0 { v * s } else { T::zero() })
        .collect()
}

impl CustomOp2 for MaskedScale {
    fn name(&self) -> &'static str {
        "dropout"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::U8(mask) = s2 else {
            candle_core::bail!("dropout: la máscara debe ser u8");
        };
        if l1.shape() != l2.shape() {
            candle_core::bail!("dropout: la máscara no tiene la forma del tensor");
        }
        let mask = contiguous(mask, l2)?;
        let out = float_dispatch!(s1, |x| masked_scale(contiguous(x, l1)?, mask, self.scale));
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        mask: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // La derivada de x ⊙ m·s respecto de x es m·s: la misma operación sobre dy.
        let dx = grad_res
            .contiguous()?
            .apply_op2_no_bwd(mask, &MaskedScale { scale: self.scale })?;
        Ok((Some(dx), None))
    }
}
