//! La capa lineal `y = x Wᵀ + b` (y, si se pide, la ReLU que la sigue) en una sola operación
//! de la CPU, con su derivada escrita a mano.
//!
//! Con operaciones sueltas, una capa lineal son cinco nodos del grafo (aplanar, trasponer
//! `W`, multiplicar, sumar el sesgo, recuperar la forma) y la ReLU otros tantos en la vuelta
//! atrás (comparar, convertir, multiplicar). La retropropagación de candle crea, para cada
//! nodo, un tensor de ceros del tamaño de su entrada y le suma la derivada: con tensores de
//! `(B·T, 4·C)` eso es mucha memoria recorrida para nada. Aquí la capa es un solo nodo.

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};
use num_traits::Float;

use crate::fast::fused::{column_sums_no_grad, contiguous};
use crate::fast::matrix::{View, matmul};

/// Lo que se aplica a la salida de la capa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
}

/// `act(x Wᵀ + b)` con `x (…, entrada)`, `W (salida, entrada)` y `b (salida,)`.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>, act: Activation) -> Result<Tensor> {
    let (x, w) = (x.contiguous()?, w.contiguous()?);
    let op = LinearOp { act };
    match b {
        Some(b) => x.apply_op3(&w, &b.contiguous()?, op),
        None => x.apply_op2(&w, op),
    }
}

struct LinearOp {
    act: Activation,
}

/// `(filas, entrada, salida)` de una capa, comprobando que las formas encajan.
fn dims(l_x: &Layout, l_w: &Layout, l_b: Option<&Layout>) -> Result<(usize, usize, usize)> {
    let (&n_in, lead) = match l_x.dims().split_last() {
        Some(split) => split,
        None => candle_core::bail!("capa lineal: la entrada no puede ser un escalar"),
    };
    let [n_out, w_in] = l_w.dims() else {
        candle_core::bail!(
            "capa lineal: los pesos deben ser (salida, entrada), no {:?}",
            l_w.dims()
        );
    };
    if *w_in != n_in {
        candle_core::bail!(
            "capa lineal: la entrada tiene {n_in} columnas y los pesos esperan {w_in}"
        );
    }
    if let Some(l_b) = l_b
        && l_b.dims() != [*n_out]
    {
        candle_core::bail!(
            "capa lineal: el sesgo debe tener forma ({n_out},), no {:?}",
            l_b.dims()
        );
    }
    Ok((lead.iter().product(), n_in, *n_out))
}

/// Los datos contiguos de un tensor de la CPU, como `&[T]` (error si son de otro tipo).
fn slice<'a, T: WithDType>((s, l): (&'a CpuStorage, &Layout)) -> Result<&'a [T]> {
    contiguous(s.as_slice::<T>()?, l)
}

fn output_shape(l_x: &Layout, n_out: usize) -> Shape {
    let mut dims = l_x.dims().to_vec();
    *dims
        .last_mut()
        .expect("la entrada tiene al menos una dimensión") = n_out;
    Shape::from(dims)
}

fn forward<T: Float + 'static>(
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    (rows, n_in, n_out): (usize, usize, usize),
    act: Activation,
) -> Vec<T> {
    // Con sesgo, cada fila de la salida empieza valiendo b y el producto se le suma.
    let mut y = match b {
        Some(b) => b.repeat(rows),
        None => vec![T::zero(); rows * n_out],
    };
    let (x, w) = (View::rows(x, n_in), View::rows(w, n_in));
    matmul(
        (rows, n_out, n_in),
        &mut y,
        n_out,
        b.is_some(),
        x,
        w.t(),
        T::one(),
    );
    if act == Activation::Relu {
        y.iter_mut().for_each(|v| *v = v.max(T::zero()));
    }
    y
}

impl LinearOp {
    fn fwd(
        &self,
        x: (&CpuStorage, &Layout),
        w: (&CpuStorage, &Layout),
        b: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(CpuStorage, Shape)> {
        let d = dims(x.1, w.1, b.map(|b| b.1))?;
        fn typed<T: WithDType + Float>(
            x: (&CpuStorage, &Layout),
            w: (&CpuStorage, &Layout),
            b: Option<(&CpuStorage, &Layout)>,
            d: (usize, usize, usize),
            act: Activation,
        ) -> Result<CpuStorage> {
            let bias = b.map(slice::<T>).transpose()?;
            let y = forward(slice::<T>(x)?, slice::<T>(w)?, bias, d, act);
            Ok(T::to_cpu_storage_owned(y))
        }
        let out = match candle_core::backend::BackendStorage::dtype(x.0) {
            DType::F32 => typed::<f32>(x, w, b, d, self.act)?,
            DType::F64 => typed::<f64>(x, w, b, d, self.act)?,
            dt => candle_core::bail!("capa lineal fusionada: solo f32 y f64, no {dt:?}"),
        };
        Ok((out, output_shape(x.1, d.2)))
    }

    /// Las derivadas respecto de `x`, `W` y `b`, dada la de la salida `dy` y la salida `y`.
    fn grads(&self, x: &Tensor, w: &Tensor, y: &Tensor, dy: &Tensor) -> Result<[Tensor; 3]> {
        let dy = dy.contiguous()?;
        // Tras la ReLU, la derivada solo pasa donde la salida es positiva.
        let dz = match self.act {
            Activation::Relu => y.apply_op2_no_bwd(&dy, &ReluGrad)?,
            Activation::Identity => dy,
        };
        let dx = dz.apply_op2_no_bwd(w, &GradInput)?; // dz · W
        let dw = dz.apply_op2_no_bwd(x, &GradWeight)?; // dzᵀ · x
        let db = column_sums_no_grad(&dz)?;
        Ok([dx, dw, db])
    }
}

impl CustomOp2 for LinearOp {
    fn name(&self) -> &'static str {
        "lineal"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.fwd((s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let [dx, dw, _] = self.grads(x, w, y, dy)?;
        Ok((Some(dx), Some(dw)))
    }
}

impl CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "lineal"
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
        self.fwd((s1, l1), (s2, l2), Some((s3, l3)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let [dx, dw, db] = self.grads(x, w, y, dy)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// `dy ⊙ (y > 0)`: la derivada a través de una ReLU, mirando su salida.
struct ReluGrad;
/// `dz (…, salida) · W (salida, entrada)` → `(…, entrada)`.
struct GradInput;
/// `dz (…, salida)ᵀ · x (…, entrada)` → `(salida, entrada)`.
struct GradWeight;

/// Aplica `f` a dos tensores contiguos del mismo tipo flotante.
macro_rules! with_floats {
    ($s1:expr, $l1:expr, $s2:expr, $l2:expr, |$a:ident, $b:ident| $body:expr) => {
        match ($s1, $s2) {
            (CpuStorage::F32($a), CpuStorage::F32($b)) => {
                let ($a, $b) = (contiguous($a, $l1)?, contiguous($b, $l2)?);
                CpuStorage::F32($body)
            }
            (CpuStorage::F64($a), CpuStorage::F64($b)) => {
                let ($a, $b) = (contiguous($a, $l1)?, contiguous($b, $l2)?);
                CpuStorage::F64($body)
            }
            _ => candle_core::bail!("capa lineal fusionada: solo f32 y f64, iguales"),
        }
    };
}

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "relu-derivada"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = with_floats!(s1, l1, s2, l2, |y, dy| {
            y.iter()
                .zip(dy)
                .map(|(&y, &g)| if y > 0.0 { g } else { 0.0 })
                .collect()
        });
        Ok((out, l2.shape().clone()))
    }
}

impl CustomOp2 for GradInput {
    fn name(&self) -> &'static str {
        "lineal-derivada-entrada"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n_out, n_in) = l2.shape().dims2()?;
        let rows = l1.shape().elem_count() / n_out;
        let out = with_floats!(s1, l1, s2, l2, |dz, w| {
            let mut dx = vec![0.0; rows * n_in];
            matmul(
                (rows, n_in, n_out),
                &mut dx,
                n_in,
                false,
                View::rows(dz, n_out),
                View::rows(w, n_in),
                1.0,
            );
            dx
        });
        Ok((out, output_shape(l1, n_in)))
    }
}

impl CustomOp2 for GradWeight {
    fn name(&self) -> &'static str {
        "lineal-derivada-pesos"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let n_out = *l1.dims().last().unwrap_or(&0);
        let n_in = *l2.dims().last().unwrap_or(&0);
        if n_out == 0 || n_in == 0 {
            candle_core::bail!("capa lineal fusionada: dimensiones vacías");
        }
        let rows = l1.shape().elem_count() / n_out;
        let out = with_floats!(s1, l1, s2, l2, |dz, x| {
            let mut dw = vec![0.0; n_out * n_in];
            matmul(
                (n_out, n_in, rows),
                &mut dw,
                n_in,
                false,
                View::rows(dz, n_out).t(),
                View::rows(x, n_in),
                1.0,
            );
            dw
        });
        Ok((out, Shape::from((n_out, n_in))))
    }
}

// ---------------------------------------------------------------------------------------
// GELU (la de GPT-2, con tangente hiperbólica) en una sola operación, con su derivada.
// ---------------------------------------------------------------------------------------

/// `√(2/π)` y el coeficiente del cubo de la GELU con tangente hiperbólica.
const GELU_C: f64 = 0.797_884_560_802_865_4;
const GELU_A: f64 = 0.044_715;

/// `gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0,044715·x³)))`, escrita como la de candle (que usa
/// la versión del libro): `√(2/π)·x·(1 + 0,044715·x²)` dentro de la tangente.
#[inline(always)]
pub fn gelu_scalar<T: Float>(x: T) -> T {
    let (c, a, half) = (cast::<T>(GELU_C), cast::<T>(GELU_A), cast::<T>(0.5));
    half * x * (T::one() + (c * x * (T::one() + a * x * x)).tanh())
}

/// La derivada de [`gelu_scalar`] en `x`: con `u = √(2/π)·(x + 0,044715·x³)` y `t = tanh(u)`,
/// `½·(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0,044715·x²)`.
#[inline(always)]
fn gelu_derivative<T: Float>(x: T) -> T {
    let (c, a, half) = (cast::<T>(GELU_C), cast::<T>(GELU_A), cast::<T>(0.5));
    let three = cast::<T>(3.0);
    let t = (c * x * (T::one() + a * x * x)).tanh();
    half * (T::one() + t) + half * x * (T::one() - t * t) * c * (T::one() + three * a * x * x)
}

fn cast<T: Float>(v: f64) -> T {
    T::from(v).expect("una constante pequeña cabe en cualquier flotante")
}

/// La GELU de cada valor de `x`, como `x.gelu()` de candle pero en una sola operación, con
/// su derivada escrita a mano (la de candle son una docena de nodos del grafo).
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Gelu)
}

struct Gelu;
/// `dy ⊙ gelu'(x)`: la derivada a través de la GELU, mirando su entrada.
struct GeluGrad;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = match s {
            CpuStorage::F32(x) => {
                CpuStorage::F32(contiguous(x, l)?.iter().map(|&v| gelu_scalar(v)).collect())
            }
            CpuStorage::F64(x) => {
                CpuStorage::F64(contiguous(x, l)?.iter().map(|&v| gelu_scalar(v)).collect())
            }
            _ => candle_core::bail!("gelu fusionada: solo f32 y f64"),
        };
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let dy = grad_res.contiguous()?;
        Ok(Some(arg.apply_op2_no_bwd(&dy, &GeluGrad)?))
    }
}

impl CustomOp2 for GeluGrad {
    fn name(&self) -> &'static str {
        "gelu-derivada"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = with_floats!(s1, l1, s2, l2, |x, dy| {
            x.iter()
                .zip(dy)
                .map(|(&x, &g)| g * gelu_derivative(x))
                .collect()
        });
        Ok((out, l2.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// La GELU fusionada da los valores de la de candle, y su derivada, la de diferencias
    /// finitas en `f64`.
    #[test]
    fn gelu_matches_candle_and_finite_differences() {
        let xs: Vec<f64> = (-80..=80).map(|i| f64::from(i) * 0.1).collect();
        let x = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap();
        let ours: Vec<f64> = gelu(&x).unwrap().to_vec1().unwrap();
        let candle: Vec<f64> = x.gelu().unwrap().to_vec1().unwrap();
        for ((&v, a), b) in xs.iter().zip(&ours).zip(&candle) {
            assert!((a - b).abs() < 1e-12, "gelu({v}): {a} y {b}");
        }
        for &v in &xs {
            let h = 1e-6;
            let numeric = (gelu_scalar(v + h) - gelu_scalar(v - h)) / (2.0 * h);
            let exact = gelu_derivative(v);
            assert!(
                (numeric - exact).abs() < 1e-8,
                "gelu'({v}): {exact} y {numeric}"
            );
        }
    }
}
