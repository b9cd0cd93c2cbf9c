//! Piezas de red neuronal en candle, con pesos inicializados desde el RNG del proyecto.
//!
//! Dos trampas de candle 0.11 que este módulo evita: `candle_nn::LayerNorm` (la versión
//! fusionada) y `candle_nn::ops::softmax_last_dim` no tienen derivada, así que el gradiente
//! se detendría en silencio; y el RNG de candle en la CPU no admite semilla, así que la
//! inicialización y el dropout usan [`crate::tools::rng::Rng`].

use candle_core::{D, DType, Device, Result, Tensor, Var};
use rand::Rng as _;

use crate::tools::rng::{self, Rng};

/// Los parámetros entrenables de un modelo, con nombre y en orden de creación.
#[derive(Debug, Clone)]
pub struct Params {
    device: Device,
    named: Vec<(String, Var)>,
}

impl Params {
    pub fn new(device: &Device) -> Self {
        Self {
            device: device.clone(),
            named: Vec::new(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Un parámetro nuevo con valores de una normal `N(0, std²)` (como `nn.init.normal_`).
    pub fn normal(
        &mut self,
        name: &str,
        shape: &[usize],
        std: f32,
        rng: &mut Rng,
    ) -> Result<Tensor> {
        let n = shape.iter().product();
        let values = rng::normal_vec(rng, n, 0.0, std);
        self.add(name, Tensor::from_vec(values, shape, &self.device)?)
    }

    /// Un parámetro nuevo lleno de ceros (sesgos).
    pub fn zeros(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.add(name, Tensor::zeros(shape, DType::F32, &self.device)?)
    }

    /// Un parámetro nuevo lleno de unos (la escala de LayerNorm).
    pub fn ones(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.add(name, Tensor::ones(shape, DType::F32, &self.device)?)
    }

    /// Registra un tensor como parámetro y devuelve la vista que usan las capas: comparte
    /// memoria con la `Var`, así que ve las actualizaciones del optimizador.
    pub fn add(&mut self, name: &str, value: Tensor) -> Result<Tensor> {
        assert!(
            self.get(name).is_none(),
            "parámetro repetido: {name} (error de programación)"
        );
        let var = Var::from_tensor(&value.to_device(&self.device)?)?;
        let tensor = var.as_tensor().clone();
        self.named.push((name.to_string(), var));
        Ok(tensor)
    }

    pub fn get(&self, name: &str) -> Option<&Var> {
        self.named.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Los parámetros, con su nombre, en orden de creación.
    pub fn named(&self) -> &[(String, Var)] {
        &self.named
    }

    /// Las variables, para el optimizador.
    pub fn vars(&self) -> Vec<Var> {
        self.named.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Número total de valores entrenables.
    pub fn count(&self) -> usize {
        self.named.iter().map(|(_, v)| v.elem_count()).sum()
    }
}

/// Capa lineal `y = x Wᵀ + b`, con `W` de forma `(salida, entrada)` como `nn.Linear`.
///
/// A diferencia de `candle_nn::Linear`, aplana las dimensiones de delante y hace un solo
/// producto 2-D `(N, entrada) × (entrada, salida)`. `candle_nn::Linear` repite `W` para cada
/// elemento del lote (un producto por lotes), y su derivada guarda y suma `B` copias del
/// gradiente de `W`: mucho más tiempo y memoria para el mismo resultado.
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Self {
        Self { weight, bias }
    }
}

impl candle_core::Module for Linear {
    // ANCHOR: linear
    /// Un producto 2-D y el sesgo sumado a cada fila.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let (lead, n_in) = dims.split_at(dims.len() - 1);
        let rows: usize = lead.iter().product();
        let y = x.reshape((rows, n_in[0]))?.matmul(&self.weight.t()?)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut out = lead.to_vec();
        out.push(self.weight.dim(0)?);
        y.reshape(out)
    }
    // ANCHOR_END: linear
}

/// Capa lineal de `fan_in` a `fan_out`, inicializada con `N(0, std²)` y sesgo cero.
pub fn linear(
    params: &mut Params,
    name: &str,
    (fan_in, fan_out): (usize, usize),
    bias: bool,
    std: f32,
    rng: &mut Rng,
) -> Result<Linear> {
    let w = params.normal(&format!("{name}.weight"), &[fan_out, fan_in], std, rng)?;
    let b = if bias {
        Some(params.zeros(&format!("{name}.bias"), &[fan_out])?)
    } else {
        None
    };
    Ok(Linear::new(w, b))
}

/// Tabla de incrustaciones `(filas, dim)` inicializada con `N(0, std²)`, como `nn.Embedding`.
pub fn embedding(
    params: &mut Params,
    name: &str,
    (rows, dim): (usize, usize),
    std: f32,
    rng: &mut Rng,
) -> Result<candle_nn::Embedding> {
    let table = params.normal(&format!("{name}.weight"), &[rows, dim], std, rng)?;
    Ok(candle_nn::Embedding::new(table, dim))
}

/// LayerNorm sobre la última dimensión, escrita con operaciones que sí tienen derivada.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f64,
}

impl LayerNorm {
    pub fn new(params: &mut Params, name: &str, dim: usize) -> Result<Self> {
        Ok(Self {
            weight: params.ones(&format!("{name}.weight"), &[dim])?,
            bias: params.zeros(&format!("{name}.bias"), &[dim])?,
            eps: 1e-5,
        })
    }

    // ANCHOR: layer_norm
    /// `x (…, C)` → `(…, C)`, con operaciones sueltas de candle (todas con derivada).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normalized = centered.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        normalized
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
    // ANCHOR_END: layer_norm
}

/// Máscara causal `(t, t)`: 1 en y bajo la diagonal (se puede mirar), 0 encima (el futuro).
pub fn causal_mask(t: usize, device: &Device) -> Result<Tensor> {
    let values: Vec<u8> = (0..t * t).map(|k| u8::from(k % t <= k / t)).collect();
    Tensor::from_vec(values, (t, t), device)
}

// ANCHOR: masked_softmax
/// `masked_fill(mask == 0, -inf)` seguido de softmax en la última dimensión. candle no tiene
/// `masked_fill`: se construye con `where_cond`. La máscara `(T, T)` se extiende al lote.
pub fn masked_softmax(scores: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let neg_inf = Tensor::new(f32::NEG_INFINITY, scores.device())?
        .to_dtype(scores.dtype())?
        .broadcast_as(scores.shape())?;
    let mask = mask.broadcast_as(scores.shape())?;
    let filled = mask.where_cond(scores, &neg_inf)?;
    candle_nn::ops::softmax(&filled, D::Minus1)
}
// ANCHOR_END: masked_softmax

// ANCHOR: dropout
/// Dropout con la máscara sacada del RNG del proyecto: cada valor se anula con
/// probabilidad `p` y los que quedan se escalan por `1/(1-p)`.
pub fn dropout(x: &Tensor, p: f32, rng: &mut Rng) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let scale = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { scale })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
    x.mul(&mask)
}
// ANCHOR_END: dropout

/// Entropía cruzada media entre `logits (N, C)` y objetivos `(N,)`, con derivada: la de
/// candle-nn (`log_softmax` y `gather`).
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    candle_nn::loss::cross_entropy(logits, targets)
}

/// Softmax con máscara causal sobre las dos últimas dimensiones `(T, T)`:
/// [`masked_softmax`] con [`causal_mask`].
pub fn causal_softmax(scores: &Tensor) -> Result<Tensor> {
    let t = scores.dim(D::Minus1)?;
    masked_softmax(scores, &causal_mask(t, scores.device())?)
}

/// Una función de ndarray que se aplica valor a valor (como la GELU del ejercicio 6.4).
pub type ElementwiseFn = fn(ndarray::ArrayView2<f32>) -> ndarray::Array2<f32>;

/// `f` aplicada a cada valor de `x` (`f32`, en la CPU), como un nodo de candle con derivada.
/// `f` recibe los valores como una matriz `(filas, última dimensión)` y debe devolver otra de
/// la misma forma.
///
/// Así una función escrita con ndarray (la GELU del ejercicio 6.4) entra en un modelo de
/// candle. Su derivada no hace falta escribirla: se calcula con diferencias centradas de la
/// misma `f`, `(f(x + h) − f(x − h)) / 2h`, con `h = 10⁻²·max(1, |x|)` (un error de ~10⁻⁵
/// con una curva suave como la GELU). Una `f` equivocada se nota en los valores y en las
/// derivadas.
pub fn map_elementwise(x: &Tensor, f: ElementwiseFn) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Elementwise(f))
}

struct Elementwise(ElementwiseFn);

/// La derivada de [`Elementwise`] por diferencias centradas, multiplicada por la que llega.
struct ElementwiseGrad(ElementwiseFn);

/// `f` sobre los valores `values` vistos como `(filas, cols)`; error si cambia su forma.
fn apply_2d(f: ElementwiseFn, values: Vec<f32>, cols: usize) -> Result<Vec<f32>> {
    let rows = values.len() / cols.max(1);
    let m = ndarray::Array2::from_shape_vec((rows, cols), values)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let out = f(m.view());
    if out.dim() != (rows, cols) {
        candle_core::bail!(
            "la función devolvió una matriz {:?} para una entrada ({rows}, {cols})",
            out.dim()
        );
    }
    Ok(out.iter().copied().collect())
}

fn f32_values<'a>(s: &'a candle_core::CpuStorage, l: &candle_core::Layout) -> Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("se esperaba un tensor contiguo"),
    }
}

fn last_dim(l: &candle_core::Layout) -> usize {
    l.dims().last().copied().unwrap_or(1)
}

impl candle_core::CustomOp1 for Elementwise {
    fn name(&self) -> &'static str {
        "valor-a-valor"
    }

    fn cpu_fwd(
        &self,
        s: &candle_core::CpuStorage,
        l: &candle_core::Layout,
    ) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let y = apply_2d(self.0, f32_values(s, l)?.to_vec(), last_dim(l))?;
        Ok((candle_core::CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let dy = grad_res.contiguous()?;
        Ok(Some(arg.apply_op2_no_bwd(&dy, &ElementwiseGrad(self.0))?))
    }
}

impl candle_core::CustomOp2 for ElementwiseGrad {
    fn name(&self) -> &'static str {
        "valor-a-valor-derivada"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (x, dy) = (f32_values(s1, l1)?, f32_values(s2, l2)?);
        let h: Vec<f32> = x.iter().map(|v| 1e-2 * v.abs().max(1.0)).collect();
        let shifted = |sign: f32| x.iter().zip(&h).map(|(v, h)| v + sign * h).collect();
        let up = apply_2d(self.0, shifted(1.0), last_dim(l1))?;
        let down = apply_2d(self.0, shifted(-1.0), last_dim(l1))?;
        let dx = (up.iter().zip(&down).zip(&h).zip(dy))
            .map(|(((u, d), h), g)| g * (u - d) / (2.0 * h))
            .collect();
        Ok((candle_core::CpuStorage::F32(dx), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Module;

    fn assert_close(a: &Tensor, b: &Tensor, tol: f32) {
        let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        let d = d.to_scalar::<f32>().unwrap();
        assert!(d < tol, "diferencia máxima {d}");
    }

    #[test]
    fn every_parameter_gets_a_gradient() {
        let dev = Device::Cpu;
        let mut rng = rng::seeded(1);
        let mut p = Params::new(&dev);
        let emb = embedding(&mut p, "emb", (5, 4), 1.0, &mut rng).unwrap();
        let ln = LayerNorm::new(&mut p, "ln", 4).unwrap();
        let lin = linear(&mut p, "lin", (4, 5), true, 0.5, &mut rng).unwrap();
        assert_eq!(p.count(), 5 * 4 + 4 + 4 + 4 * 5 + 5);

        let idx = Tensor::new(&[[0u32, 1, 2], [3, 4, 0]], &dev).unwrap();
        let x = emb.forward(&idx).unwrap();
        let x = ln.forward(&x).unwrap();
        let scores = x.matmul(&x.t().unwrap()).unwrap();
        let att = masked_softmax(&scores, &causal_mask(3, &dev).unwrap()).unwrap();
        let x = att.matmul(&x).unwrap();
        let x = dropout(&x, 0.2, &mut rng).unwrap();
        let logits = lin.forward(&x).unwrap().reshape((6, 5)).unwrap();
        let targets = Tensor::new(&[1u32, 2, 3, 4, 0, 1], &dev).unwrap();
        let loss = cross_entropy(&logits, &targets).unwrap();
        let grads = loss.backward().unwrap();
        for (name, var) in p.named() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name} sin gradiente"));
            let norm = g
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(norm > 0.0, "{name}: gradiente nulo");
        }
    }

    #[test]
    fn layer_norm_matches_the_formula() {
        let dev = Device::Cpu;
        let mut p = Params::new(&dev);
        let ln = LayerNorm::new(&mut p, "ln", 4).unwrap();
        let x = Tensor::new(&[[1f32, 2., 3., 6.]], &dev).unwrap();
        let y = ln.forward(&x).unwrap();
        // media 3, varianza (4 + 1 + 0 + 9) / 4 = 3.5
        let s = (3.5f32 + 1e-5).sqrt();
        let want = Tensor::new(&[[-2. / s, -1. / s, 0., 3. / s]], &dev).unwrap();
        assert_close(&y, &want, 1e-6);
    }

    #[test]
    fn masked_softmax_rows_are_causal_distributions() {
        let dev = Device::Cpu;
        let scores = Tensor::new(&[[1f32, 2., 3.], [1., 2., 3.], [1., 2., 3.]], &dev).unwrap();
        let w = masked_softmax(&scores, &causal_mask(3, &dev).unwrap()).unwrap();
        let w: Vec<Vec<f32>> = w.to_vec2().unwrap();
        assert_eq!(w[0], vec![1.0, 0.0, 0.0]);
        assert_eq!(w[1][2], 0.0);
        for row in &w {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }

    /// Una GELU escrita con ndarray, por [`map_elementwise`]: los valores y las derivadas de
    /// la GELU de candle.
    #[test]
    fn an_ndarray_function_gets_values_and_derivatives() {
        fn gelu(x: ndarray::ArrayView2<f32>) -> ndarray::Array2<f32> {
            let c = (2.0 / std::f32::consts::PI).sqrt();
            x.mapv(|v| 0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh()))
        }
        let dev = Device::Cpu;
        let values: Vec<f32> = (0..24).map(|i| (i as f32 - 12.0) * 0.37).collect();
        let x = candle_core::Var::from_vec(values, (2, 3, 4), &dev).unwrap();
        let w = Tensor::new(&[1f32, -2., 0.5, 3.], &dev).unwrap();
        let ours = map_elementwise(&x, gelu).unwrap();
        let candle = x.gelu().unwrap();
        assert_close(&ours, &candle, 1e-6);
        let g_ours = ours
            .broadcast_mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g_candle = candle
            .broadcast_mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_close(g_ours.get(&x).unwrap(), g_candle.get(&x).unwrap(), 2e-4);
        // Una función que cambia la forma es un error, no un pánico.
        fn first_column(x: ndarray::ArrayView2<f32>) -> ndarray::Array2<f32> {
            x.slice(ndarray::s![.., ..1]).to_owned()
        }
        let e = map_elementwise(&x, first_column).unwrap_err().to_string();
        assert!(e.contains("(6, 4)"), "{e}");
    }

    #[test]
    fn dropout_is_seeded_and_keeps_the_expectation() {
        let dev = Device::Cpu;
        let x = Tensor::ones((100, 100), DType::F32, &dev).unwrap();
        let a = dropout(&x, 0.2, &mut rng::seeded(5)).unwrap();
        let b = dropout(&x, 0.2, &mut rng::seeded(5)).unwrap();
        assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
        let mean = a.mean_all().unwrap().to_scalar::<f32>().unwrap();
        assert!((mean - 1.0).abs() < 0.05, "media {mean}");
    }
}
