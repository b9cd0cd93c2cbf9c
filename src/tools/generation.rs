//! Lo que rodea a la generación de texto de `07_gpt generar`: leer el punto de control,
//! preparar el texto inicial y escribir lo que sale, en una terminal o en un archivo.

use std::io::{IsTerminal as _, StdoutLock, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use candle_core::Device;

use crate::fast::kv_cache::KvCache;
use crate::model::gpt::{Gpt, NextLogits};
use crate::model::kernels::{Executed, Kernels};
use crate::text::tokenizer::Tokenizer;
use crate::tools::checkpoint::{self, Loaded};
use crate::tools::pretty::Wrapper;
use crate::tools::resources::io_detail;

/// Las opciones de `07_gpt generar`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Punto de control con el modelo entrenado
    #[arg(
        long,
        value_name = "RUTA",
        default_value = "salidas/gpt-mejor.safetensors"
    )]
    pub checkpoint: PathBuf,
    /// Texto inicial (por defecto un salto de línea, como el cuaderno)
    #[arg(
        long,
        value_name = "TEXTO",
        default_value = "\n",
        hide_default_value = true
    )]
    pub prompt: String,
    /// Cuántos caracteres generar
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub tokens: usize,
    /// Temperatura τ: menos de 1 es más conservador; más de 1, más aventurado
    #[arg(long, value_name = "τ", default_value = "1", value_parser = crate::tools::cli::positive_decimal)]
    pub temperatura: f64,
    /// Sortea solo entre los K caracteres más probables
    #[arg(long, value_name = "K", value_parser = crate::tools::cli::at_least_one)]
    pub top_k: Option<usize>,
    /// Sortea solo en el núcleo: los más probables cuya probabilidad suma P (0 < P ≤ 1), tras
    /// la temperatura y el top-k
    #[arg(long, value_name = "P", value_parser = crate::tools::cli::probability)]
    pub top_p: Option<f32>,
    /// Semilla del sorteo: la misma semilla da el mismo texto
    #[arg(long, value_name = "N", default_value_t = crate::tools::rng::DEFAULT_SEED)]
    pub semilla: u64,
    /// Parte las líneas a N columnas, entre palabras (por defecto, 80 en una terminal; en una
    /// tubería o un archivo, el texto tal cual); 0, nunca
    #[arg(long, value_name = "N")]
    pub ancho: Option<usize>,
    /// Dónde ejecutar el modelo
    #[arg(long, value_enum)]
    pub dispositivo: Option<crate::tools::training::DeviceChoice>,
    /// Qué código ejecuta el modelo (por defecto, la rápida en la CPU y la del libro en la GPU)
    #[arg(long, value_enum)]
    pub implementacion: Option<crate::tools::training::Implementation>,
    /// Sin caché KV: el bucle del cuaderno, que recalcula todo el contexto en cada carácter
    /// (mucho más lento; el texto es el mismo)
    #[arg(long)]
    pub sin_cache: bool,
}

/// De dónde salen los logits al generar con `model`, ejecutado por `kernels`: la caché KV
/// (por defecto) o, con `cache == false`, el contexto entero en cada carácter, como el
/// cuaderno. Los dos dan el mismo texto con la misma semilla (`tests/kv_cache.rs`).
pub fn decoder<'a>(
    model: &'a Gpt,
    kernels: &'a dyn Kernels,
    cache: bool,
) -> candle_core::Result<Box<dyn NextLogits + 'a>> {
    Ok(if cache {
        Box::new(KvCache::new(model, kernels)?)
    } else {
        Box::new(Executed { model, kernels })
    })
}

/// Lo que ocupa en memoria generar `tokens` caracteres, por arriba: el texto generado se
/// guarda entero (un identificador y su carácter por posición). `None` si no cabe en 64 bits.
pub fn memory(tokens: usize) -> Option<u64> {
    (tokens as u64).checked_mul(8)
}

/// El punto de control de `path`, con un mensaje que dice qué hacer si no existe.
pub fn load(path: &Path, device: &Device) -> anyhow::Result<Loaded> {
    if !path.exists() {
        anyhow::bail!(
            "no existe el punto de control «{}»; entrena primero con `07_gpt entrenar` o indica \
             otro con --checkpoint",
            path.display()
        );
    }
    Ok(checkpoint::load(path, device)?)
}

/// El texto inicial en la forma del vocabulario y sus identificadores. El de por defecto es
/// un salto de línea, como en el cuaderno; un modelo entrenado con un texto sin saltos de
/// línea empieza por su primer carácter. Las tildes tecleadas se pasan a la forma de Unicode
/// del corpus. Cada cambio se cuenta por la salida de errores.
pub fn prompt(tokenizer: &Tokenizer, prompt: &str) -> anyhow::Result<(String, Vec<u32>)> {
    if prompt.is_empty() {
        anyhow::bail!("el texto inicial (--prompt) no puede estar vacío");
    }
    let mut prompt = prompt.to_string();
    if prompt == "\n" && !tokenizer.chars().contains(&'\n') {
        prompt = tokenizer.chars()[0].to_string();
        crate::eprintln!(
            "Nota: el vocabulario del modelo no tiene salto de línea; empiezo por «{prompt}»."
        );
    }
    let context = "el texto inicial (--prompt) tiene un carácter que el modelo no conoce";
    let text = tokenizer.adapt(&prompt).context(context)?.into_owned();
    if text != prompt {
        crate::eprintln!(
            "Nota: el texto inicial se pasó a la forma de Unicode del vocabulario (tildes como \
             en el corpus)."
        );
    }
    let ids = tokenizer.encode(&text).context(context)?;
    Ok((text, ids))
}

/// La salida del texto generado: en una terminal, renglones de 80 columnas partidos entre
/// palabras; en una tubería o un archivo, exactamente los caracteres del modelo (`width`
/// elige otro ancho; 0, sin partir). Un error al escribir no para la generación: se guarda el
/// primero y [`TextOut::finish`] lo devuelve.
pub struct TextOut {
    out: StdoutLock<'static>,
    lines: Wrapper,
    error: Option<std::io::Error>,
}

impl TextOut {
    pub fn new(width: Option<usize>) -> Self {
        let out = std::io::stdout().lock();
        let width = width.unwrap_or(if out.is_terminal() { 80 } else { 0 });
        Self {
            out,
            lines: Wrapper::new(width),
            error: None,
        }
    }

    /// Escribe `text` en cuanto se pueda (una palabra se retiene hasta que termina).
    pub fn write(&mut self, text: &str) {
        let piece = self.lines.push(text);
        self.put(&piece);
    }

    fn put(&mut self, piece: &str) {
        let result = self
            .out
            .write_all(piece.as_bytes())
            .and_then(|()| self.out.flush());
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    /// Lo que quedaba retenido y un salto de línea final; el primer error de escritura, si lo
    /// hubo.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let last = self.lines.finish() + "\n";
        self.put(&last);
        match self.error {
            Some(e) => anyhow::bail!("no se pudo escribir el texto generado: {}", io_detail(&e)),
            None => Ok(()),
        }
    }
}
