//! Generación con caché KV: el mismo texto que [`gpt::generate`], mucho más deprisa.
//!
//! El bucle del cuaderno ([`gpt::generate`] con [`Gpt::next_logits`]) pasa el contexto entero
//! por el modelo para cada carácter nuevo, aunque solo use los logits de la última posición.
//! Pero en un modelo causal la posición `i` solo mira a las posiciones `≤ i`: mientras el
//! contexto solo crece, las claves y los valores de las posiciones ya procesadas no cambian.
//! Esta caché los guarda, por capa y cabeza, y cada carácter nuevo pasa por el modelo como
//! **una sola posición** (su incrustación de token más la de su posición): calcula su
//! consulta, clave y valor, añade la clave y el valor a la caché y atiende a todas las
//! posiciones guardadas (sin máscara: todas están en el pasado).
//!
//! ## Cuando la ventana se llena
//!
//! El cuaderno recorta el contexto a los últimos `block_size` caracteres. Con la ventana
//! llena, cada carácter nuevo **desplaza** todo el contexto: el que estaba en la posición 1
//! pasa a la 0, y así todos. Como las posiciones son incrustaciones absolutas aprendidas
//! (`position_embedding_table`), la entrada de la primera capa cambia en todas las
//! posiciones, y con ella todas las claves y valores de todas las capas. Para dar el mismo
//! texto, hay que volver a pasar la ventana recortada entera por el modelo: con la ventana
//! llena, cada carácter cuesta un forward completo de `block_size` posiciones, el mismo del
//! cuaderno ([`Gpt::next_logits`]), y no se guarda nada (el siguiente carácter la volverá a
//! desplazar).
//!
//! ¿Hay un atajo exacto más barato? No para este modelo. Aunque las posiciones fueran
//! relativas (RoPE), el carácter que sale de la ventana influía, a través de la atención de
//! la primera capa, en la salida de todas las posiciones posteriores, así que las claves y
//! los valores de la segunda capa en adelante cambian igualmente. Los esquemas de ventana
//! deslizante de los modelos grandes (conservar claves viejas, o recortar a media ventana y
//! volver a llenar) cambian la función y, por tanto, el texto. Lo único exacto que se puede
//! ahorrar es el trabajo que no llega a los logits del último carácter: en la última capa,
//! la atención y la red de avance de las demás posiciones. Este módulo lo hace al procesar el
//! prompt, pero no con la ventana llena: medido, el ahorro (un 20 % de un forward) se perdía
//! en el ruido de la memoria (el reparto de `malloc` de glibc pesa tanto como él).
//!
//! Así que la ganancia es grande dentro del bloque (los primeros `block_size` caracteres,
//! prompt incluido) y, pasado el bloque, cada carácter vuelve a costar un forward completo,
//! como en el cuaderno. El banco de pruebas `cargo bench --bench generacion` mide los caracteres por
//! segundo de ambos caminos; `tests/kv_cache.rs` comprueba que dan los mismos logits
//! (a 1e-4) y exactamente el mismo texto.
//!
//! Para ir más deprisa aún, las proyecciones de consulta, clave y valor de todas las cabezas
//! de un bloque se juntan en una sola matriz `(3·C, C)`: un producto en vez de `3·n_head`.
//! Y en la CPU con `f32`, el paso de una posición no usa candle: son productos
//! matriz-vector pequeños (una fila), y en ellos el coste fijo de cada operación de candle
//! (reservar memoria, despertar hilos) pesa más que las cuentas. Ahí el paso está escrito
//! con bucles sobre los pesos copiados a vectores (`HostModel`). Es la misma función, con
//! las sumas en otro orden: los logits difieren en el redondeo (~1e-6), no más. Si la CPU
//! tiene AVX2, esos bucles se usan compilados también para AVX2 (unas 1,4 veces más
//! caracteres por segundo), con idéntico resultado bit a bit.

use candle_core::{DType, IndexOp, Module, Result, Tensor};

use crate::fast::kernels as fast;
use crate::model::gpt::{self, Gpt, Mode, Sampling};
use crate::model::layers::{self, LayerNorm, Linear};
use crate::tools::rng::Rng;

/// Cuánto trabajo ha hecho una caché.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Pasos rápidos: una sola posición nueva sobre la caché.
    pub steps: usize,
    /// Forwards completos: el primero (el prompt) y cada reconstrucción con la ventana llena.
    pub rebuilds: usize,
    /// Posiciones procesadas en esos forwards completos.
    pub rebuilt_positions: usize,
}

/// Las claves y los valores de las posiciones ya procesadas, por capa y cabeza, para un
/// modelo concreto.
pub struct KvCache<'a> {
    model: &'a Gpt,
    /// Por capa: consulta, clave y valor de todas las cabezas en una capa lineal `(3·C, C)`.
    qkv: Vec<Linear>,
    /// ¿Usa el modelo la implementación rápida en `f32`? Entonces los pasos de una posición
    /// son los de `host`, y los forwards completos usan las operaciones fusionadas, como el
    /// modelo; si no, todo es la versión del libro.
    fast: bool,
    /// Por capa: claves `(n_head, T, head_size)` (camino de candle).
    keys: Vec<Tensor>,
    /// Por capa: valores `(n_head, T, head_size)` (camino de candle).
    values: Vec<Tensor>,
    /// En la CPU con `f32`: los pesos como vectores y, por capa, las claves y los valores
    /// como filas `(T, C)` (la fila `t` tiene las cabezas una tras otra).
    host: Option<HostModel>,
    host_keys: Vec<Vec<f32>>,
    host_values: Vec<Vec<f32>>,
    /// Los tokens cuyas claves y valores están guardados (la posición `i` es `tokens[i]`).
    tokens: Vec<u32>,
    stats: CacheStats,
}

impl<'a> KvCache<'a> {
    /// Una caché vacía para `model`. Junta una vez las proyecciones de las cabezas y, si el
    /// modelo usa la implementación rápida y es de `f32`, copia los pesos: si el modelo se
    /// sigue entrenando, hay que crear otra.
    pub fn new(model: &'a Gpt) -> Result<Self> {
        let qkv = (model.blocks.iter())
            // Primero las consultas de todas las cabezas, luego las claves y luego los valores.
            .map(|block| Ok(Linear::new(fast::stacked_qkv(&block.sa.heads)?, None)))
            .collect::<Result<Vec<_>>>()?;
        let fast = model.kernels().host_steps() && model.params.named()[0].1.dtype() == DType::F32;
        let host = if fast {
            Some(HostModel::new(model, &qkv)?)
        } else {
            None
        };
        Ok(Self {
            model,
            qkv,
            fast,
            keys: Vec::new(),
            values: Vec::new(),
            host,
            host_keys: Vec::new(),
            host_values: Vec::new(),
            tokens: Vec::new(),
            stats: CacheStats::default(),
        })
    }

    /// Cuántas posiciones hay guardadas.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Los tokens de las posiciones guardadas.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// El trabajo hecho hasta ahora.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Olvida todas las posiciones.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.host_keys.clear();
        self.host_values.clear();
        self.tokens.clear();
    }

    // ANCHOR: next_logits
    /// Los logits del siguiente token tras el contexto `ids`: los mismos que
    /// [`Gpt::next_logits`] (recortando a los últimos `block_size`). Si la caché guarda
    /// justo el contexto menos su último token, da un paso de una posición; si no (la
    /// primera vez, o con la ventana ya desplazada), la reconstruye con un forward completo.
    pub fn next_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        self.check_ids(ids)?;
        let start = ids.len().saturating_sub(self.model.config.block_size);
        let context = &ids[start..];
        let (prefix, newest) = context.split_at(context.len() - 1);
        if !prefix.is_empty() && self.tokens.as_slice() == prefix {
            return self.step_logits(newest[0]);
        }
        if context.len() == self.model.config.block_size {
            // Ventana llena: el siguiente carácter la desplazará, así que no vale la pena
            // guardar nada. Es el forward del cuaderno, tal cual.
            self.clear();
            self.stats.rebuilds += 1;
            self.stats.rebuilt_positions += context.len();
            return self.model.next_logits(context);
        }
        self.rebuild(context)?.to_dtype(DType::F32)?.to_vec1()
    }
    // ANCHOR_END: next_logits

    /// El paso de una posición: [`Self::step`] o, con la implementación rápida en `f32`, el
    /// mismo paso sin candle ([`HostModel::step`]).
    fn step_logits(&mut self, token: u32) -> Result<Vec<f32>> {
        let Some(host) = &self.host else {
            return self.step(token)?.to_dtype(DType::F32)?.to_vec1();
        };
        let pos = self.tokens.len();
        let logits = host.step(&mut self.host_keys, &mut self.host_values, token, pos);
        self.tokens.push(token);
        self.stats.steps += 1;
        Ok(logits)
    }

    /// La capa lineal `l`, con la implementación del modelo.
    fn linear(&self, l: &Linear, x: &Tensor) -> Result<Tensor> {
        if self.fast {
            fast::linear(l, x)
        } else {
            l.forward(x)
        }
    }

    /// La LayerNorm `ln`, con la implementación del modelo.
    fn layer_norm(&self, ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
        if self.fast {
            fast::layer_norm(ln, x)
        } else {
            ln.forward(x)
        }
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        if ids.is_empty() {
            candle_core::bail!("el contexto está vacío: hace falta al menos un token");
        }
        let vocab = self.model.config.vocab_size;
        if let Some((i, &id)) = ids
            .iter()
            .enumerate()
            .find(|&(_, &id)| id as usize >= vocab)
        {
            candle_core::bail!(
                "el token {id} (posición {i}) no existe: el vocabulario tiene {vocab} caracteres"
            );
        }
        Ok(())
    }

    /// Incrustaciones de token y de posición de `tokens`, la primera en la posición `start`:
    /// `(T, C)`.
    fn embed(&self, tokens: &[u32], start: usize) -> Result<Tensor> {
        let device = self.model.device();
        let idx = Tensor::new(tokens, device)?;
        let tok_emb = self.model.token_embedding_table.forward(&idx)?;
        let end = (start + tokens.len()) as u32;
        let positions = Tensor::arange(start as u32, end, device)?;
        let pos_emb = self.model.position_embedding_table.forward(&positions)?;
        tok_emb + pos_emb
    }

    /// Consultas, claves y valores de `h (T, C)`, cada uno `(n_head, T, head_size)`.
    fn project(&self, layer: usize, h: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let cfg = &self.model.config;
        let (t, c) = h.dims2()?;
        let qkv = self.linear(&self.qkv[layer], h)?; // (T, 3·C)
        let split = |i: usize| -> Result<Tensor> {
            qkv.narrow(1, i * c, c)?
                .reshape((t, cfg.n_head, cfg.head_size()))?
                .transpose(0, 1)?
                .contiguous()
        };
        Ok((split(0)?, split(1)?, split(2)?))
    }

    /// Afinidades escaladas de las consultas `q` con las claves `k`: `(n_head, Tq, Tk)`.
    fn scores(&self, q: &Tensor, k: &Tensor) -> Result<Tensor> {
        let head_size = self.model.config.head_size();
        q.matmul(&k.t()?)? * (head_size as f64).powf(-0.5)
    }

    /// Lo que sigue a la atención en un bloque: juntar las cabezas `att (n_head, T, hs)`,
    /// proyectar, sumar al residuo `x (T, C)`, y la red de avance con su residuo.
    fn finish_block(&self, layer: usize, x: &Tensor, att: &Tensor) -> Result<Tensor> {
        let block = &self.model.blocks[layer];
        let (t, c) = x.dims2()?;
        let att = att.transpose(0, 1)?.reshape((t, c))?; // (T, n_head · hs)
        let x = (x + self.linear(&block.sa.proj, &att)?)?;
        let h = self.layer_norm(&block.ln2, &x)?;
        if self.fast {
            &x + fast::feed_forward(&block.ffwd, &h, &mut Mode::Eval)?
        } else {
            &x + block.ffwd.forward(&h, &mut Mode::Eval)?
        }
    }

    /// Los logits de una fila `x (1, C)`: `(vocab_size,)`.
    fn head(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.layer_norm(&self.model.ln_f, x)?;
        self.linear(&self.model.lm_head, &x)?.i(0)
    }

    // ANCHOR: rebuild
    /// Forward completo de `context` (más corto que la ventana) desde la posición 0,
    /// guardando las claves y los valores de todas sus posiciones. Devuelve los logits de la
    /// última.
    fn rebuild(&mut self, context: &[u32]) -> Result<Tensor> {
        self.clear();
        let cfg = &self.model.config;
        let t = context.len();
        let n_layer = self.model.blocks.len();
        let mut x = self.embed(context, 0)?; // (T, C)
        for layer in 0..n_layer {
            let h = self.layer_norm(&self.model.blocks[layer].ln1, &x)?;
            let (q, k, v) = self.project(layer, &h)?;
            let att = if layer + 1 < n_layer {
                // Todas las posiciones, con la máscara causal.
                let scores = self.scores(&q, &k)?;
                let wei = if self.fast {
                    crate::fast::fused::causal_softmax(&scores)?
                } else {
                    layers::causal_softmax(&scores)?
                };
                wei.matmul(&v)?
            } else {
                // Última capa: solo la última posición llega a los logits. Mira a todas las
                // demás, así que no hace falta máscara.
                x = x.narrow(0, t - 1, 1)?;
                let q = q.narrow(1, t - 1, 1)?;
                candle_nn::ops::softmax_last_dim(&self.scores(&q, &k)?)?.matmul(&v)?
            };
            x = self.finish_block(layer, &x, &att)?;
            if self.host.is_some() {
                // (n_head, T, hs) → filas (T, C), con sitio para llenar la ventana.
                let rows = |t: &Tensor| -> Result<Vec<f32>> {
                    let mut out = Vec::with_capacity(cfg.block_size * cfg.n_embd);
                    out.extend(t.transpose(0, 1)?.flatten_all()?.to_vec1::<f32>()?);
                    Ok(out)
                };
                self.host_keys.push(rows(&k)?);
                self.host_values.push(rows(&v)?);
            } else {
                self.keys.push(k);
                self.values.push(v);
            }
        }
        self.tokens = context.to_vec();
        self.stats.rebuilds += 1;
        self.stats.rebuilt_positions += t;
        self.head(&x)
    }
    // ANCHOR_END: rebuild

    // ANCHOR: step
    /// Un paso de una sola posición: `token` en la posición `len()`. Su clave y su valor se
    /// añaden a la caché y su consulta atiende a todas las posiciones guardadas.
    fn step(&mut self, token: u32) -> Result<Tensor> {
        let mut x = self.embed(&[token], self.tokens.len())?; // (1, C)
        for layer in 0..self.model.blocks.len() {
            let h = self.model.blocks[layer].ln1.forward(&x)?;
            let (q, k, v) = self.project(layer, &h)?; // (n_head, 1, hs)
            let keys = Tensor::cat(&[&self.keys[layer], &k], 1)?; // (n_head, T + 1, hs)
            let values = Tensor::cat(&[&self.values[layer], &v], 1)?;
            let wei = candle_nn::ops::softmax_last_dim(&self.scores(&q, &keys)?)?;
            let att = wei.matmul(&values)?; // (n_head, 1, hs)
            x = self.finish_block(layer, &x, &att)?;
            self.keys[layer] = keys;
            self.values[layer] = values;
        }
        self.tokens.push(token);
        self.stats.steps += 1;
        self.head(&x)
    }
    // ANCHOR_END: step
}

// ---------------------------------------------------------------------------------------
// El paso de una posición en la CPU, sin candle.
// ---------------------------------------------------------------------------------------

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
struct HostModel {
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
}

impl HostModel {
    fn new(model: &Gpt, qkv: &[Linear]) -> Result<Self> {
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
            wide.iter_mut().for_each(|v| *v = v.max(0.0));
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

// ANCHOR: generate
/// Como [`gpt::generate`] (mismo sorteo, mismo texto para la misma semilla), pero con los
/// logits de una [`KvCache`]. Devuelve los tokens nuevos y el trabajo hecho por la caché.
pub fn generate_with_stats(
    model: &Gpt,
    prompt: &[u32],
    max_new_tokens: usize,
    sampling: Sampling,
    rng: &mut Rng,
    mut on_token: impl FnMut(u32),
) -> Result<(Vec<u32>, CacheStats)> {
    let mut cache = KvCache::new(model)?;
    let mut ids = prompt.to_vec();
    for _ in 0..max_new_tokens {
        let logits = cache.next_logits(&ids)?;
        // El mismo sorteo, en el mismo orden, que `gpt::generate`.
        let next = gpt::choose_next(&logits, sampling, rng);
        on_token(next);
        ids.push(next);
    }
    Ok((ids[prompt.len()..].to_vec(), cache.stats()))
}
// ANCHOR_END: generate

/// [`generate_with_stats`] sin las estadísticas: la firma de [`gpt::generate`].
pub fn generate(
    model: &Gpt,
    prompt: &[u32],
    max_new_tokens: usize,
    sampling: Sampling,
    rng: &mut Rng,
    on_token: impl FnMut(u32),
) -> Result<Vec<u32>> {
    generate_with_stats(model, prompt, max_new_tokens, sampling, rng, on_token).map(|(ids, _)| ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gpt::{GptConfig, Preset};
    use crate::tools::rng;
    use candle_core::Device;

    fn tiny() -> Gpt {
        let cfg = GptConfig::preset(Preset::Diminuto, 13);
        let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap();
        model.with_kernels(std::sync::Arc::new(crate::fast::kernels::Fast))
    }

    #[test]
    fn steps_within_the_block_and_rebuilds_past_it() {
        let model = tiny();
        let bs = model.config.block_size;
        let mut cache = KvCache::new(&model).unwrap();
        let mut ids = vec![1u32, 2, 3];
        cache.next_logits(&ids).unwrap();
        assert_eq!(cache.len(), 3);
        // Hasta llenar la ventana: pasos de una posición.
        while ids.len() < bs {
            ids.push(ids.len() as u32 % 13);
            cache.next_logits(&ids).unwrap();
        }
        let s = cache.stats();
        assert_eq!((s.rebuilds, s.steps), (1, bs - 3));
        assert_eq!(cache.tokens(), &ids[..]);
        // Pasada la ventana, cada token es una reconstrucción de block_size posiciones.
        for _ in 0..3 {
            ids.push(5);
            cache.next_logits(&ids).unwrap();
        }
        let s = cache.stats();
        assert_eq!((s.rebuilds, s.steps), (4, bs - 3));
        assert_eq!(s.rebuilt_positions, 3 + 3 * bs);
        // Con la ventana llena no se guarda nada: el siguiente la desplazaría.
        assert!(cache.is_empty());
    }

    /// La versión con AVX2 del paso de una posición da exactamente los mismos bits que la
    /// portátil (mismo orden de las sumas). En una CPU sin AVX2 solo existe la portátil.
    #[test]
    fn the_avx2_step_gives_the_same_bits_as_the_portable_one() {
        let model = tiny();
        let cache = KvCache::new(&model).unwrap();
        let host = cache
            .host
            .as_ref()
            .expect("con la implementación rápida en f32 hay camino sin candle");
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

    #[test]
    fn a_different_context_rebuilds_instead_of_reusing() {
        let model = tiny();
        let mut cache = KvCache::new(&model).unwrap();
        cache.next_logits(&[1, 2, 3]).unwrap();
        // No continúa lo guardado: no puede reutilizarlo.
        let got = cache.next_logits(&[1, 9, 3, 4]).unwrap();
        assert_eq!(cache.stats().rebuilds, 2);
        let want = model.next_logits(&[1, 9, 3, 4]).unwrap();
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn bad_contexts_are_errors_in_spanish() {
        let model = tiny();
        let mut cache = KvCache::new(&model).unwrap();
        let e = cache.next_logits(&[]).unwrap_err().to_string();
        assert!(e.contains("vacío"), "{e}");
        let e = cache.next_logits(&[1, 13]).unwrap_err().to_string();
        assert!(e.contains("token 13") && e.contains("13 caracteres"), "{e}");
        assert!(cache.is_empty());
    }
}
