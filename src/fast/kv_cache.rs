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
//! Las cuentas las hace la implementación elegida ([`Kernels`]): la del libro o la rápida.
//! La rápida, en `f32`, da además el paso de una posición sin candle
//! (`crate::fast::host_step`, compilado también para AVX2 si la CPU lo tiene).

use candle_core::{DType, IndexOp, Module, Result, Tensor};

use crate::fast::kernels::stacked_qkv;
use crate::model::gpt::{Gpt, NextLogits};
use crate::model::kernels::{Executed, Kernels, PositionStep};
use crate::model::layers::{LayerNorm, Linear};

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
    /// La implementación que hace las cuentas (la del libro o la rápida).
    kernels: &'a dyn Kernels,
    /// Por capa: consulta, clave y valor de todas las cabezas en una capa lineal `(3·C, C)`.
    qkv: Vec<Linear>,
    /// Por capa: claves `(n_head, T, head_size)` (camino de candle).
    keys: Vec<Tensor>,
    /// Por capa: valores `(n_head, T, head_size)` (camino de candle).
    values: Vec<Tensor>,
    /// Si la implementación da los pasos de una posición fuera de candle: ese paso y, por
    /// capa, las claves y los valores como filas `(T, C)` (la fila `t` tiene las cabezas una
    /// tras otra).
    host: Option<Box<dyn PositionStep>>,
    host_keys: Vec<Vec<f32>>,
    host_values: Vec<Vec<f32>>,
    /// Los tokens cuyas claves y valores están guardados (la posición `i` es `tokens[i]`).
    tokens: Vec<u32>,
    stats: CacheStats,
}

impl<'a> KvCache<'a> {
    /// Una caché vacía para `model`, con las cuentas de `kernels`. Junta una vez las
    /// proyecciones de las cabezas y, si la implementación tiene su propio paso de una
    /// posición, le deja copiar los pesos: si el modelo se sigue entrenando, hay que crear otra.
    pub fn new(model: &'a Gpt, kernels: &'a dyn Kernels) -> Result<Self> {
        let qkv = (model.blocks.iter())
            // Primero las consultas de todas las cabezas, luego las claves y luego los valores.
            .map(|block| Ok(Linear::new(stacked_qkv(&block.sa.heads)?, None)))
            .collect::<Result<Vec<_>>>()?;
        let host = kernels.position_step(model, &qkv)?;
        Ok(Self {
            model,
            kernels,
            qkv,
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
            let mut whole = Executed {
                model: self.model,
                kernels: self.kernels,
            };
            return whole.next_logits(context);
        }
        self.rebuild(context)?.to_dtype(DType::F32)?.to_vec1()
    }
    // ANCHOR_END: next_logits

    /// El paso de una posición: [`Self::step`] o, si la implementación lo tiene, el mismo
    /// paso sin candle ([`PositionStep`]).
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

    /// La capa lineal `l`, con la implementación elegida.
    fn linear(&self, l: &Linear, x: &Tensor) -> Result<Tensor> {
        self.kernels.linear(l, x)
    }

    /// La LayerNorm `ln`, con la implementación elegida.
    fn layer_norm(&self, ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
        self.kernels.layer_norm(ln, x)
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

    /// Lo que sigue a la atención en un bloque: juntar las cabezas `att (n_head, T, d_k)`,
    /// proyectar, sumar al residuo `x (T, C)`, y la red de avance con su residuo.
    fn finish_block(&self, layer: usize, x: &Tensor, att: &Tensor) -> Result<Tensor> {
        let block = &self.model.blocks[layer];
        let (t, c) = x.dims2()?;
        let att = att.transpose(0, 1)?.reshape((t, c))?; // (T, n_head · d_k)
        let x = (x + self.linear(&block.sa.proj, &att)?)?;
        let h = self.layer_norm(&block.ln2, &x)?;
        &x + self.kernels.feed_forward(&block.ffwd, &h)?
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
                let wei = self.kernels.causal_softmax(&self.scores(&q, &k)?)?;
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
                // (n_head, T, d_k) → filas (T, C), con sitio para llenar la ventana.
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
            let h = self.layer_norm(&self.model.blocks[layer].ln1, &x)?;
            let (q, k, v) = self.project(layer, &h)?; // (n_head, 1, d_k)
            let keys = Tensor::cat(&[&self.keys[layer], &k], 1)?; // (n_head, T + 1, d_k)
            let values = Tensor::cat(&[&self.values[layer], &v], 1)?;
            let wei = candle_nn::ops::softmax_last_dim(&self.scores(&q, &keys)?)?;
            let att = wei.matmul(&values)?; // (n_head, 1, d_k)
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

// ANCHOR: generate
/// La caché es una fuente de logits más para [`crate::model::gpt::generate`]: el mismo sorteo
/// y el mismo texto que con el modelo solo, más deprisa.
impl NextLogits for KvCache<'_> {
    fn next_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        KvCache::next_logits(self, ids)
    }
}
// ANCHOR_END: generate

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::kernels::Fast;
    use crate::model::gpt::{GptConfig, Preset};
    use crate::tools::rng;
    use candle_core::Device;

    fn tiny() -> Gpt {
        let cfg = GptConfig::preset(Preset::Diminuto, 13);
        Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap()
    }

    #[test]
    fn steps_within_the_block_and_rebuilds_past_it() {
        let model = tiny();
        let bs = model.config.block_size;
        let mut cache = KvCache::new(&model, &Fast).unwrap();
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

    #[test]
    fn a_different_context_rebuilds_instead_of_reusing() {
        let model = tiny();
        let mut cache = KvCache::new(&model, &Fast).unwrap();
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
        let mut cache = KvCache::new(&model, &Fast).unwrap();
        let e = cache.next_logits(&[]).unwrap_err().to_string();
        assert!(e.contains("vacío"), "{e}");
        let e = cache.next_logits(&[1, 13]).unwrap_err().to_string();
        assert!(e.contains("token 13") && e.contains("13 caracteres"), "{e}");
        assert!(cache.is_empty());
    }
}
