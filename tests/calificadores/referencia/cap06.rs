//! Soluciones de referencia del capítulo 6.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

/// Ejercicio 6.1: la matriz se construye ya normalizada, `1/(i+1)` en cada fila, y se
/// multiplica secuencia por secuencia.
pub fn average_tril(x: ArrayView3<f32>) -> Array3<f32> {
    let t = x.len_of(Axis(1));
    let wei = Array2::from_shape_fn(
        (t, t),
        |(i, j)| {
            if j <= i { 1.0 / (i + 1) as f32 } else { 0.0 }
        },
    );
    let mut out = Array3::zeros(x.raw_dim());
    for (b, x_b) in x.outer_iter().enumerate() {
        out.index_axis_mut(Axis(0), b).assign(&wei.dot(&x_b));
    }
    out
}

/// Ejercicio 6.2: solo se miran las columnas permitidas (`0..=i`); las demás se quedan en 0.
pub fn causal_softmax(scores: ArrayView2<f32>) -> Array2<f32> {
    let mut wei = Array2::zeros(scores.raw_dim());
    for (i, row) in scores.outer_iter().enumerate() {
        let allowed: Vec<f32> = row.iter().take(i + 1).copied().collect();
        let max = allowed.iter().copied().fold(f32::MIN, f32::max);
        let exps: Vec<f32> = allowed.iter().map(|s| (s - max).exp()).collect();
        let total: f32 = exps.iter().sum();
        for (j, e) in exps.iter().enumerate() {
            wei[[i, j]] = e / total;
        }
    }
    wei
}

/// Ejercicio 6.3: con bucles, producto escalar a producto escalar.
pub fn head_forward(
    x: ArrayView3<f32>,
    key: ArrayView2<f32>,
    query: ArrayView2<f32>,
    value: ArrayView2<f32>,
) -> Array3<f32> {
    let (b_size, t_size, _) = x.dim();
    let hs = key.nrows();
    let mut out = Array3::zeros((b_size, t_size, hs));
    for b in 0..b_size {
        let x_b = x.index_axis(Axis(0), b);
        let k = x_b.dot(&key.t());
        let q = x_b.dot(&query.t());
        let v = x_b.dot(&value.t());
        let mut scores = Array2::zeros((t_size, t_size));
        for i in 0..t_size {
            for j in 0..t_size {
                scores[[i, j]] = q.row(i).dot(&k.row(j)) / (hs as f32).sqrt();
            }
        }
        let wei = causal_softmax(scores.view());
        for i in 0..t_size {
            for j in 0..=i {
                let mut out_row = out.slice_mut(ndarray::s![b, i, ..]);
                out_row.scaled_add(wei[[i, j]], &v.row(j));
            }
        }
    }
    out
}

/// Ejercicio 6.4: la fórmula de GPT-2, elemento a elemento (en f64 por gusto).
pub fn gelu(x: ArrayView2<f32>) -> Array2<f32> {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    x.mapv(|v| {
        let v = f64::from(v);
        (0.5 * v * (1.0 + (c * (v + 0.044715 * v.powi(3))).tanh())) as f32
    })
}
