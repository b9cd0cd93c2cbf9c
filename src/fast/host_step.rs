//! El paso de una posición de la caché KV (`crate::fast::kv_cache`) en la CPU y sin candle:
//! productos matriz-vector pequeños (una fila), en los que el coste fijo de cada operación de
//! candle (reservar memoria, despertar hilos) pesa más que las cuentas. Aquí el paso está
//! escrito con bucles sobre los pesos copiados a vectores ([`HostModel`]). Es la misma función
//! que el paso de candle, con las sumas en otro orden: los logits difieren en el redondeo
//! (~1e-6), no más. Lo ofrece la implementación rápida (`crate::fast::kernels::Fast`) a
//! través de [`PositionStep`].

use candle_core::{DType, Result, Tensor};

use crate::fast::fused_linear::gelu_scalar;
use crate::model::gpt::{Activation, Gpt};
use crate::model::kernels::PositionStep;
use crate::model::layers::{LayerNorm, Linear};

/// Los valores de un tensor como vector `f32`, por filas.
fn host_vec(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
}

/// Una LayerNorm con sus parámetros en vectores.
struct HostLayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl HostLayerNorm {
    fn new(ln: &LayerNorm) -> Result<Self> {
        Ok(Self {
            weight: host_vec(&ln.weight)?,
            bias: host_vec(&ln.bias)?,
            eps: ln.eps as f32,
        })
    }

    /// `out = (x − media) / √(varianza + ε) ⊙ w + b`, como [`crate::fast::fused::layer_norm`].
    #[inline(always)]
    fn apply(&self, x: &[f32], out: &mut [f32]) {
        let n = x.len() as f32;
        let mean = x.iter().sum::<f32>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let rstd = 1.0 / (var + self.eps).sqrt();
        for (((o, &v), &w), &b) in out.iter_mut().zip(x).zip(&self.weight).zip(&self.bias) {
            *o = (v - mean) * rstd * w + b;
        }
    }
}

/// Los pesos de un bloque en vectores; las matrices, por filas `(salida, entrada)`.
struct HostBlock {
    ln1: HostLayerNorm,
    qkv: Vec<f32>,
    proj_w: Vec<f32>,
    proj_b: Vec<f32>,
    ln2: HostLayerNorm,
    up_w: Vec<f32>,
    up_b: Vec<f32>,
    down_w: Vec<f32>,
    down_b: Vec<f32>,
}

/// Una copia de los pesos del modelo en vectores `f32`, para el paso de una posición.
pub struct HostModel {
    vocab_size: usize,
    n_embd: usize,
    n_head: usize,
    head_size: usize,
    tok_emb: Vec<f32>,
    pos_emb: Vec<f32>,
    blocks: Vec<HostBlock>,
    ln_f: HostLayerNorm,
    lm_w: Vec<f32>,
    lm_b: Vec<f32>,
    activation: Activation,
}

impl PositionStep for HostModel {
    fn step(
        &self,
        keys: &mut [Vec<f32>],
        values: &mut [Vec<f32>],
        token: u32,
        pos: usize,
    ) -> Vec<f32> {
        HostModel::step(self, keys, values, token, pos)
    }
}

impl HostModel {
    /// Copia los pesos de `model` (de `f32`); `qkv`, por capa, las proyecciones de todas las
    /// cabezas juntas.
    pub fn new(model: &Gpt, qkv: &[Linear]) -> Result<Self> {
        let bias = |l: &Linear| -> Result<Vec<f32>> {
            match &l.bias {
                Some(b) => host_vec(b),
                None => Ok(vec![0.0; l.weight.dim(0)?]),
            }
        };
        let blocks = model
            .blocks
            .iter()
            .zip(qkv)
            .map(|(b, qkv)| {
                Ok(HostBlock {
                    ln1: HostLayerNorm::new(&b.ln1)?,
                    qkv: host_vec(&qkv.weight)?,
                    proj_w: host_vec(&b.sa.proj.weight)?,
                    proj_b: bias(&b.sa.proj)?,
                    ln2: HostLayerNorm::new(&b.ln2)?,
                    up_w: host_vec(&b.ffwd.up.weight)?,
                    up_b: bias(&b.ffwd.up)?,
                    down_w: host_vec(&b.ffwd.down.weight)?,
                    down_b: bias(&b.ffwd.down)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let cfg = &model.config;
        Ok(Self {
            vocab_size: cfg.vocab_size,
            n_embd: cfg.n_embd,
            n_head: cfg.n_head,
            head_size: cfg.head_size(),
            tok_emb: host_vec(model.token_embedding_table.embeddings())?,
            pos_emb: host_vec(model.position_embedding_table.embeddings())?,
            blocks,
            ln_f: HostLayerNorm::new(&model.ln_f)?,
            lm_w: host_vec(&model.lm_head.weight)?,
            lm_b: bias(&model.lm_head)?,
            activation: cfg.activation,
        })
    }

    /// El mismo paso que [`KvCache::step`] para `token` en la posición `pos`, en la CPU y
    /// sin candle: productos matriz-vector sobre los pesos copiados. Añade su clave y su
    /// valor a `keys` y `values` (por capa, filas `(T, C)`) y devuelve los logits.
    ///
    /// Si la CPU tiene AVX2, el mismo código se compila también con esas instrucciones (ocho
    /// `f32` por operación en vez de cuatro) y se usa esa versión. Las sumas se hacen en el
    /// mismo orden, así que el resultado es idéntico bit a bit.
    fn step(
        &self,
        keys: &mut [Vec<f32>],
        values: &mut [Vec<f32>],
        token: u32,
        pos: usize,
    ) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: la CPU tiene AVX2 (comprobado en la línea anterior).
            return unsafe { self.step_avx2(keys, values, token, pos) };
        }
        self.step_portable(keys, values, token, pos)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn step_avx2(
        &self,
        keys: &mut [Vec<f32>],
        values: &mut [Vec<f32>],
        token: u32,
        pos: usize,
    ) -> Vec<f32> {
        self.step_portable(keys, values, token, pos)
    }

    #[inline(always)]
    fn step_portable(
        &self,
        keys: &mut [Vec<f32>],
        values: &mut [Vec<f32>],
        token: u32,
        pos: usize,
    ) -> Vec<f32> {
        let m = self;
        let (c, hs) = (m.n_embd, m.head_size);
        let t = pos + 1; // posiciones a las que se atiende, la nueva incluida
        let scale = (hs as f64).powf(-0.5) as f32;
        let mut x: Vec<f32> = m.tok_emb[token as usize * c..][..c]
            .iter()
            .zip(&m.pos_emb[pos * c..][..c])
            .map(|(a, b)| a + b)
            .collect();
        let mut h = vec![0f32; c];
        let mut qkv = vec![0f32; 3 * c];
        let mut att = vec![0f32; c];
        let mut tmp = vec![0f32; c];
        let mut wide = vec![0f32; 4 * c];
        let mut wei = vec![0f32; t];
        for (layer, b) in m.blocks.iter().enumerate() {
            b.ln1.apply(&x, &mut h);
            matvec(&b.qkv, None, &h, &mut qkv);
            let (keys, values) = (&mut keys[layer], &mut values[layer]);
            keys.extend_from_slice(&qkv[c..2 * c]);
            values.extend_from_slice(&qkv[2 * c..]);
            for head in 0..m.n_head {
                let q = &qkv[head * hs..][..hs];
                for (j, w) in wei.iter_mut().enumerate() {
                    *w = dot(q, &keys[j * c + head * hs..][..hs]) * scale;
                }
                softmax_in_place(&mut wei);
                let out = &mut att[head * hs..][..hs];
                out.fill(0.0);
                for (j, &w) in wei.iter().enumerate() {
                    for (o, &v) in out.iter_mut().zip(&values[j * c + head * hs..][..hs]) {
                        *o += w * v;
                    }
                }
            }
            matvec(&b.proj_w, Some(&b.proj_b), &att, &mut tmp);
            x.iter_mut().zip(&tmp).for_each(|(a, d)| *a += d);
            b.ln2.apply(&x, &mut h);
            matvec(&b.up_w, Some(&b.up_b), &h, &mut wide);
            match m.activation {
                Activation::Relu => wide.iter_mut().for_each(|v| *v = v.max(0.0)),
                Activation::Gelu => wide.iter_mut().for_each(|v| *v = gelu_scalar(*v)),
            }
            matvec(&b.down_w, Some(&b.down_b), &wide, &mut tmp);
            x.iter_mut().zip(&tmp).for_each(|(a, d)| *a += d);
        }
        m.ln_f.apply(&x, &mut h);
        let mut logits = vec![0f32; m.vocab_size];
        matvec(&m.lm_w, Some(&m.lm_b), &h, &mut logits);
        logits
    }
}

/// Producto escalar con ocho sumas parciales (el compilador lo vectoriza).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `out = W x + b`, con `W` por filas `(out.len(), x.len())`.
#[inline(always)]
fn matvec(w: &[f32], b: Option<&[f32]>, x: &[f32], out: &mut [f32]) {
    let n = x.len();
    for (o, (i, row)) in out.iter_mut().zip(w.chunks_exact(n).enumerate()) {
        *o = dot(row, x) + b.map_or(0.0, |b| b[i]);
    }
}

/// Softmax de un vector, en su sitio.
#[inline(always)]
fn softmax_in_place(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        total += *x;
    }
    v.iter_mut().for_each(|x| *x /= total);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::kernels::stacked_qkv;
    use crate::model::gpt::{GptConfig, Preset};
    use crate::tools::rng;
    use candle_core::Device;

    /// La versión con AVX2 del paso de una posición da exactamente los mismos bits que la
    /// portátil (mismo orden de las sumas). En una CPU sin AVX2 solo existe la portátil.
    #[test]
    fn the_avx2_step_gives_the_same_bits_as_the_portable_one() {
        let cfg = GptConfig::preset(Preset::Diminuto, 13);
        let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap();
        let qkv: Vec<Linear> = (model.blocks.iter())
            .map(|b| Linear::new(stacked_qkv(&b.sa.heads).unwrap(), None))
            .collect();
        let host = HostModel::new(&model, &qkv).unwrap();
        let layers = model.config.n_layer;
        let (mut k1, mut v1) = (vec![Vec::new(); layers], vec![Vec::new(); layers]);
        let (mut k2, mut v2) = (k1.clone(), v1.clone());
        for (pos, token) in [4u32, 7, 1, 12, 0, 3].into_iter().enumerate() {
            let fast = host.step(&mut k1, &mut v1, token, pos);
            let portable = host.step_portable(&mut k2, &mut v2, token, pos);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&portable), "posición {pos}");
        }
        assert_eq!(k1, k2);
        #[cfg(target_arch = "x86_64")]
        if !std::arch::is_x86_feature_detected!("avx2") {
            crate::eprintln!("esta CPU no tiene AVX2: solo se ha comprobado la versión portátil");
        }
    }
}
