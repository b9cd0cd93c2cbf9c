//! Puntos de control: los pesos del modelo (y, para reanudar, los momentos de AdamW) en un
//! archivo safetensors, con la configuración, el vocabulario y el progreso en sus metadatos.
//!
//! - Con el vocabulario dentro, generar texto no necesita el corpus.
//! - Se escribe en un temporal de la misma carpeta y se renombra: si el programa se corta a
//!   mitad (Ctrl-C, un apagón), el punto de control anterior sigue entero.
//! - Una suma de comprobación de todo lo que se lee (los datos y los metadatos) detecta
//!   archivos dañados o editados; un punto de control de otra configuración o de otro
//!   vocabulario se rechaza diciendo en qué difiere.
//! - Nunca se guarda ni se carga un modelo con valores no finitos (NaN o infinito): el de un
//!   entrenamiento que diverge no sirve para nada, y no debe pisar uno bueno.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::model::adamw::AdamW;
use crate::model::estimate::LossPoint;
use crate::model::gpt::{self, Activation, Gpt, GptConfig, LrSchedule};
use crate::model::layers::Params;
use crate::model::train::Progress;
use crate::tools::resources::{self, io_detail};

/// Identifica nuestros archivos (y su versión) en los metadatos. La versión 2 añade los
/// metadatos a la suma de comprobación.
pub const FORMAT: &str = "gpt-desde-cero/gpt/2";

/// El formato anterior, que se reconoce para decir qué hacer con él.
const OLD_FORMAT: &str = "gpt-desde-cero/gpt/1";

/// Prefijos de los momentos de AdamW dentro del archivo.
const M_PREFIX: &str = "adamw.m.";
const V_PREFIX: &str = "adamw.v.";

/// Todo lo que puede salir mal con un punto de control.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("no se pudo leer el punto de control «{}»: {}", path.display(), io_detail(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no se pudo escribir el punto de control «{}»: {}",
        path.display(),
        io_detail(source)
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "«{}» no es un archivo safetensors válido (¿está cortado o dañado?): {detail}",
        path.display()
    )]
    NotSafetensors { path: PathBuf, detail: String },
    #[error(
        "«{}» no es un punto de control de este proyecto (falta o no coincide el formato \
         «{FORMAT}»)",
        path.display()
    )]
    NotOurs { path: PathBuf },
    #[error(
        "«{}» es un punto de control de una versión anterior de este proyecto, sin suma de \
         comprobación de los metadatos; vuelve a entrenar el modelo (`07_gpt entrenar`)",
        path.display()
    )]
    OldFormat { path: PathBuf },
    #[error("el punto de control «{}» está dañado: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "no se guardó «{}»: el tensor «{name}» tiene valores que no son números finitos (NaN o \
         infinito). Un modelo así no sirve: el entrenamiento se ha desestabilizado",
        path.display()
    )]
    NonFinite { path: PathBuf, name: String },
    #[error(
        "el punto de control «{}» es de otra configuración: {}",
        path.display(),
        differences.join(", ")
    )]
    OtherConfig {
        path: PathBuf,
        differences: Vec<String>,
    },
    #[error(
        "el punto de control «{}» se entrenó con otro vocabulario ({saved} caracteres) que el de este corpus ({current}); usa el mismo corpus",
        path.display()
    )]
    OtherVocabulary {
        path: PathBuf,
        saved: usize,
        current: usize,
    },
    #[error(
        "el punto de control «{}» no guarda el estado del optimizador y no sirve para reanudar",
        path.display()
    )]
    NoOptimizerState { path: PathBuf },
    #[error("error de candle con el punto de control: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Un punto de control leído: la configuración, el vocabulario, el modelo montado, el progreso
/// y, si los guardaba, los momentos del optimizador.
#[derive(Debug)]
pub struct Loaded {
    pub config: GptConfig,
    pub vocabulary: Vec<char>,
    pub model: Gpt,
    pub progress: Progress,
    /// `(m, v, paso)` de AdamW, en el orden de los parámetros.
    pub optimizer: Option<(Vec<Tensor>, Vec<Tensor>, u64)>,
}

/// FNV-1a de 64 bits: una suma de comprobación sencilla y sin dependencias.
fn fnv1a(chunks: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in chunks {
        for &b in *chunk {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// La suma de comprobación de un punto de control: todos los metadatos salvo ella misma (en
/// orden de clave, cada clave y valor con su longitud delante, para que no se puedan mover
/// bytes de uno a otro) y después los datos de los tensores, en orden de nombre.
fn checksum<'a>(
    meta: &HashMap<String, String>,
    tensors: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> u64 {
    let mut keys: Vec<&String> = meta.keys().filter(|k| *k != "checksum").collect();
    keys.sort();
    let mut framed: Vec<Vec<u8>> = Vec::new();
    let mut frame = |bytes: &[u8]| {
        let mut item = (bytes.len() as u64).to_le_bytes().to_vec();
        item.extend_from_slice(bytes);
        framed.push(item);
    };
    for k in keys {
        frame(k.as_bytes());
        frame(meta[k].as_bytes());
    }
    for (name, data) in tensors {
        frame(name.as_bytes());
        frame(data);
    }
    fnv1a(&framed.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// Por qué safetensors no pudo leer el archivo, en español (sus errores vienen en inglés).
fn safetensors_detail(e: &safetensors::SafeTensorError) -> String {
    use safetensors::SafeTensorError as E;
    let what = match e {
        E::HeaderTooSmall | E::HeaderTooLarge | E::InvalidHeaderLength => {
            "la cabecera tiene un tamaño imposible"
        }
        E::InvalidHeader(_) | E::InvalidHeaderStart | E::InvalidHeaderDeserialization(_) => {
            "la cabecera no se puede leer"
        }
        E::MetadataIncompleteBuffer => "el archivo termina antes que sus datos",
        E::InvalidOffset(_) | E::InvalidTensorView(..) | E::ValidationOverflow => {
            "un tensor apunta fuera de los datos"
        }
        E::TensorNotFound(_) => "falta un tensor",
        E::IoError(io) => return io_detail(io),
        _ => "su estructura no es válida",
    };
    // El nombre técnico del error, sin el texto en inglés que lleve dentro.
    let debug = format!("{e:?}");
    let technical = debug.split(['(', ' ', '{']).next().unwrap_or_default();
    format!("{what} ({technical})")
}

/// Si todos los `f32` (en little endian) de `bytes` son números finitos.
fn all_finite(bytes: &[u8]) -> bool {
    bytes
        .chunks_exact(4)
        .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
}

fn tensor_bytes(t: &Tensor) -> candle_core::Result<Vec<u8>> {
    let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn config_metadata(cfg: &GptConfig) -> Vec<(&'static str, String)> {
    vec![
        ("vocab_size", cfg.vocab_size.to_string()),
        ("block_size", cfg.block_size.to_string()),
        ("n_embd", cfg.n_embd.to_string()),
        ("n_head", cfg.n_head.to_string()),
        ("n_layer", cfg.n_layer.to_string()),
        ("dropout", cfg.dropout.to_string()),
        ("batch_size", cfg.batch_size.to_string()),
        ("learning_rate", cfg.learning_rate.to_string()),
        ("max_iters", cfg.max_iters.to_string()),
        ("eval_interval", cfg.eval_interval.to_string()),
        ("eval_iters", cfg.eval_iters.to_string()),
        ("activation", cfg.activation.name().to_string()),
        ("lr_schedule", cfg.lr_schedule.name().to_string()),
    ]
}

fn history_to_string(history: &[LossPoint]) -> String {
    history
        .iter()
        .map(|p| format!("{}:{}:{}", p.step, p.train, p.val))
        .collect::<Vec<_>>()
        .join(";")
}

/// Los metadatos que se guardan (también sirve para mostrarlos).
pub fn metadata(
    cfg: &GptConfig,
    vocabulary: &[char],
    progress: &Progress,
    with_optimizer: bool,
) -> Vec<(&'static str, String)> {
    let mut meta = vec![("format", FORMAT.to_string())];
    meta.extend(config_metadata(cfg));
    meta.push(("vocabulary", vocabulary.iter().collect()));
    meta.push(("step", progress.step.to_string()));
    meta.push(("seed", progress.seed.to_string()));
    meta.push((
        "best_val",
        progress.best_val.map_or(String::new(), |v| v.to_string()),
    ));
    meta.push(("history", history_to_string(&progress.history)));
    meta.push(("optimizer", with_optimizer.to_string()));
    meta
}

/// Guarda el modelo (y el optimizador, si se da) de forma atómica en `path`.
pub fn save(
    path: &Path,
    model: &Gpt,
    vocabulary: &[char],
    progress: &Progress,
    optimizer: Option<&AdamW>,
) -> Result<(), CheckpointError> {
    let mut entries: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, var) in model.params.named() {
        entries.push((name.clone(), var.dims().to_vec(), tensor_bytes(var)?));
    }
    if let Some(opt) = optimizer {
        let (m, v) = opt.moments();
        for (((name, var), m), v) in model.params.named().iter().zip(m).zip(v) {
            let shape = var.dims().to_vec();
            entries.push((format!("{M_PREFIX}{name}"), shape.clone(), tensor_bytes(m)?));
            entries.push((format!("{V_PREFIX}{name}"), shape, tensor_bytes(v)?));
        }
    }
    if let Some((name, _, _)) = entries.iter().find(|(_, _, bytes)| !all_finite(bytes)) {
        return Err(CheckpointError::NonFinite {
            path: path.to_path_buf(),
            name: name.clone(),
        });
    }
    // Los tensores, en el orden en que safetensors los guarda: por nombre.
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut meta: HashMap<String, String> =
        metadata(&model.config, vocabulary, progress, optimizer.is_some())
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    if let Some(opt) = optimizer {
        meta.insert("optimizer_step".into(), opt.step.to_string());
    }
    let sum = checksum(
        &meta,
        entries.iter().map(|(n, _, b)| (n.as_str(), b.as_slice())),
    );
    meta.insert("checksum".into(), format!("{sum:016x}"));

    let views = entries
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    resources::write_atomically(path, &bytes).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Lee un punto de control y monta el modelo en `device`, comprobando todo lo que se pueda.
pub fn load(path: &Path, device: &Device) -> Result<Loaded, CheckpointError> {
    // Antes de leer: un FIFO esperaría para siempre y /dev/zero no se acaba nunca.
    resources::check_regular_file(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not_st = |e: safetensors::SafeTensorError| CheckpointError::NotSafetensors {
        path: path.to_path_buf(),
        detail: safetensors_detail(&e),
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(not_st)?;
    let st = SafeTensors::deserialize(&bytes).map_err(not_st)?;
    let meta = header.metadata().clone().unwrap_or_default();
    match meta.get("format").map(String::as_str) {
        Some(FORMAT) => {}
        Some(OLD_FORMAT) => {
            return Err(CheckpointError::OldFormat {
                path: path.to_path_buf(),
            });
        }
        _ => {
            return Err(CheckpointError::NotOurs {
                path: path.to_path_buf(),
            });
        }
    }
    let corrupt = |detail: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    // Antes de leer ningún metadato: la suma cubre los metadatos y los datos, en orden de
    // nombre. Así un metadato editado a mano (`n_layer` de 2 a 1) se detecta aquí.
    let mut names: Vec<String> = st.names().into_iter().map(|n| n.to_string()).collect();
    names.sort();
    let views = names
        .iter()
        .map(|n| st.tensor(n).map(|v| (n.clone(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(not_st)?;
    let sum = checksum(&meta, views.iter().map(|(n, v)| (n.as_str(), v.data())));
    if meta.get("checksum") != Some(&format!("{sum:016x}")) {
        return Err(corrupt(
            "la suma de comprobación no coincide (el archivo se modificó o se dañó)".into(),
        ));
    }
    let get = |key: &str| -> Result<&String, CheckpointError> {
        meta.get(key)
            .ok_or_else(|| corrupt(format!("falta el metadato «{key}»")))
    };
    fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
        value
            .parse()
            .map_err(|_| format!("el metadato «{key}» vale «{value}», que no es un número válido"))
    }
    let num = |key: &str| -> Result<usize, CheckpointError> {
        parse::<usize>(key, get(key)?).map_err(corrupt)
    };
    let config = GptConfig {
        vocab_size: num("vocab_size")?,
        block_size: num("block_size")?,
        n_embd: num("n_embd")?,
        n_head: num("n_head")?,
        n_layer: num("n_layer")?,
        dropout: parse("dropout", get("dropout")?).map_err(corrupt)?,
        batch_size: num("batch_size")?,
        learning_rate: parse("learning_rate", get("learning_rate")?).map_err(corrupt)?,
        max_iters: num("max_iters")?,
        eval_interval: num("eval_interval")?,
        eval_iters: num("eval_iters")?,
        // Los puntos de control de antes de GELU y del coseno no los guardan: eran ReLU y
        // tasa fija.
        activation: match meta.get("activation") {
            None => Activation::Relu,
            Some(name) => Activation::from_name(name).ok_or_else(|| {
                corrupt(format!(
                    "el metadato «activation» vale «{name}» y debería ser relu o gelu"
                ))
            })?,
        },
        lr_schedule: match meta.get("lr_schedule") {
            None => LrSchedule::Constant,
            Some(name) => LrSchedule::from_name(name).ok_or_else(|| {
                corrupt(format!(
                    "el metadato «lr_schedule» vale «{name}» y debería ser constante o coseno"
                ))
            })?,
        },
    };
    config
        .validate()
        .map_err(|e| corrupt(format!("guarda una {e}")))?;
    let vocabulary: Vec<char> = get("vocabulary")?.chars().collect();
    if vocabulary.len() != config.vocab_size {
        return Err(corrupt(format!(
            "el vocabulario tiene {} caracteres y la configuración dice {}",
            vocabulary.len(),
            config.vocab_size
        )));
    }
    crate::text::tokenizer::Tokenizer::from_chars(vocabulary.clone())
        .map_err(|e| corrupt(e.to_string()))?;

    let views: HashMap<String, TensorView> = views.into_iter().collect();
    let read = |name: &str, shape: &[usize]| -> Result<Tensor, CheckpointError> {
        let view = views
            .get(name)
            .ok_or_else(|| corrupt(format!("falta el tensor «{name}»")))?;
        if view.dtype() != Dtype::F32 || view.shape() != shape {
            return Err(corrupt(format!(
                "el tensor «{name}» es {:?} {:?} y debería ser F32 {shape:?}",
                view.dtype(),
                view.shape()
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(corrupt(format!(
                "el tensor «{name}» tiene valores que no son números finitos (NaN o infinito): \
                 es el modelo de un entrenamiento que se desestabilizó"
            )));
        }
        Ok(Tensor::from_vec(values, shape, device)?)
    };

    let specs = gpt::param_specs(&config);
    let mut params = Params::new(device);
    for (name, shape, _) in &specs {
        params.add(name, read(name, shape)?)?;
    }
    let model = Gpt::from_params(&config, params)?;

    let optimizer = if get("optimizer")? == "true" {
        let mut m = Vec::with_capacity(specs.len());
        let mut v = Vec::with_capacity(specs.len());
        for (name, shape, _) in &specs {
            m.push(read(&format!("{M_PREFIX}{name}"), shape)?);
            v.push(read(&format!("{V_PREFIX}{name}"), shape)?);
        }
        let t = parse::<u64>("optimizer_step", get("optimizer_step")?).map_err(corrupt)?;
        // AdamW da un paso por paso de entrenamiento: los dos contadores van juntos.
        let step = num("step")?;
        if usize::try_from(t).ok() != Some(step) {
            return Err(corrupt(format!(
                "el optimizador dice que dio {t} pasos y el entrenamiento {step}"
            )));
        }
        Some((m, v, t))
    } else {
        None
    };

    let best_val = match get("best_val")?.as_str() {
        "" => None,
        s => Some(parse::<f32>("best_val", s).map_err(corrupt)?),
    };
    let history = get("history")?
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|item| {
            let parts: Vec<&str> = item.split(':').collect();
            match parts.as_slice() {
                [s, t, v] => Ok(LossPoint {
                    step: parse("history", s)?,
                    train: parse("history", t)?,
                    val: parse("history", v)?,
                }),
                _ => Err(format!("el historial tiene un punto mal escrito: «{item}»")),
            }
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(corrupt)?;
    let progress = Progress {
        step: num("step")?,
        seed: parse("seed", get("seed")?).map_err(corrupt)?,
        best_val,
        history,
    };
    Ok(Loaded {
        config,
        vocabulary,
        model,
        progress,
        optimizer,
    })
}

/// Identifica la tabla de un bigrama guardada (la de `cargo ejercicios --entrenar bigram`).
pub const TABLE_FORMAT: &str = "gpt-desde-cero/bigrama/1";

/// Una tabla de bigrama leída: la tabla `V×V`, su vocabulario y de qué entrenamiento salió.
#[derive(Debug, Clone)]
pub struct LoadedTable {
    pub table: ndarray::Array2<f32>,
    pub vocabulary: Vec<char>,
    pub steps: usize,
    pub seed: u64,
}

/// Guarda de forma atómica la tabla de un bigrama (`V×V`, con `V` el tamaño de `vocabulary`)
/// con su vocabulario, sus pasos y su semilla, y la misma suma de comprobación que los
/// puntos de control del GPT. Nunca una tabla con valores no finitos.
pub fn save_table(
    path: &Path,
    table: ndarray::ArrayView2<f32>,
    vocabulary: &[char],
    steps: usize,
    seed: u64,
) -> Result<(), CheckpointError> {
    let v = vocabulary.len();
    if table.dim() != (v, v) {
        return Err(candle_core::Error::Msg(format!(
            "la tabla es {:?} y el vocabulario tiene {v} caracteres",
            table.dim()
        ))
        .into());
    }
    let bytes: Vec<u8> = table.iter().flat_map(|x| x.to_le_bytes()).collect();
    if !all_finite(&bytes) {
        return Err(CheckpointError::NonFinite {
            path: path.to_path_buf(),
            name: "tabla".into(),
        });
    }
    let mut meta: HashMap<String, String> = [
        ("format", TABLE_FORMAT.to_string()),
        ("vocabulary", vocabulary.iter().collect()),
        ("step", steps.to_string()),
        ("seed", seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sum = checksum(&meta, [("tabla", bytes.as_slice())]);
    meta.insert("checksum".into(), format!("{sum:016x}"));
    let view = TensorView::new(Dtype::F32, vec![v, v], &bytes)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let out = safetensors::serialize([("tabla", view)], Some(meta))
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    resources::write_atomically(path, &out).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Lee una tabla guardada con [`save_table`], comprobando su formato, su suma, su forma y
/// que sus valores son finitos.
pub fn load_table(path: &Path) -> Result<LoadedTable, CheckpointError> {
    resources::check_regular_file(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not_st = |e: safetensors::SafeTensorError| CheckpointError::NotSafetensors {
        path: path.to_path_buf(),
        detail: safetensors_detail(&e),
    };
    let corrupt = |detail: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(not_st)?;
    let st = SafeTensors::deserialize(&bytes).map_err(not_st)?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(TABLE_FORMAT) {
        return Err(CheckpointError::NotOurs {
            path: path.to_path_buf(),
        });
    }
    let view = st.tensor("tabla").map_err(not_st)?;
    let sum = checksum(&meta, [("tabla", view.data())]);
    if st.len() != 1 || meta.get("checksum") != Some(&format!("{sum:016x}")) {
        return Err(corrupt(
            "la suma de comprobación no coincide (el archivo se modificó o se dañó)".into(),
        ));
    }
    let get = |key: &str| {
        meta.get(key)
            .ok_or_else(|| corrupt(format!("falta el metadato «{key}»")))
    };
    let vocabulary: Vec<char> = get("vocabulary")?.chars().collect();
    let v = vocabulary.len();
    if view.dtype() != Dtype::F32 || view.shape() != [v, v] {
        return Err(corrupt(format!(
            "la tabla es {:?} {:?} y con {v} caracteres debería ser F32 [{v}, {v}]",
            view.dtype(),
            view.shape()
        )));
    }
    if !all_finite(view.data()) {
        return Err(corrupt(
            "la tabla tiene valores que no son números finitos (NaN o infinito)".into(),
        ));
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let table =
        ndarray::Array2::from_shape_vec((v, v), values).map_err(|e| corrupt(e.to_string()))?;
    let number = |key: &str| -> Result<u64, CheckpointError> {
        let value = get(key)?;
        value.parse().map_err(|_| {
            corrupt(format!(
                "el metadato «{key}» vale «{value}», que no es un número válido"
            ))
        })
    };
    let steps = usize::try_from(number("step")?).map_err(|e| corrupt(e.to_string()))?;
    Ok(LoadedTable {
        table,
        vocabulary,
        steps,
        seed: number("seed")?,
    })
}

/// En qué difieren dos configuraciones en lo que importa para continuar un entrenamiento
/// exactamente (todo salvo los pasos totales y cuándo y cuánto se evalúa). Con el coseno, los
/// pasos totales sí importan: el calendario de la tasa de aprendizaje depende de ellos.
pub fn resume_differences(saved: &GptConfig, wanted: &GptConfig) -> Vec<String> {
    let saved_meta = config_metadata(saved);
    let wanted_meta = config_metadata(wanted);
    let cosine = [saved, wanted]
        .iter()
        .any(|c| c.lr_schedule == LrSchedule::WarmupCosine);
    saved_meta
        .iter()
        .zip(&wanted_meta)
        .filter(|((k, _), _)| match *k {
            "max_iters" => cosine,
            "eval_interval" | "eval_iters" => false,
            _ => true,
        })
        .filter(|((_, a), (_, b))| a != b)
        .map(|((k, a), (_, b))| format!("{k} = {a} en el punto de control y {b} ahora"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gpt::Preset;
    use crate::tools::rng;

    fn tiny() -> (Gpt, Vec<char>) {
        let cfg = GptConfig::preset(Preset::Diminuto, 5);
        let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap();
        (model, vec!['\n', ' ', 'a', 'b', 'ñ'])
    }

    fn progress() -> Progress {
        Progress {
            step: 7,
            seed: 1337,
            best_val: Some(1.5),
            history: vec![LossPoint {
                step: 0,
                train: 1.75,
                val: 1.5,
            }],
        }
    }

    #[test]
    fn round_trip_keeps_everything() {
        let (model, vocab) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("c.safetensors");
        save(&path, &model, &vocab, &progress(), None).unwrap();
        let loaded = load(&path, &Device::Cpu).unwrap();
        assert_eq!(loaded.config, model.config);
        assert_eq!(loaded.vocabulary, vocab);
        assert_eq!(loaded.progress, progress());
        assert!(loaded.optimizer.is_none());
        for ((n1, a), (n2, b)) in model.params.named().iter().zip(loaded.model.params.named()) {
            assert_eq!(n1, n2);
            assert_eq!(
                a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            );
        }
        // Solo queda el archivo: ningún temporal.
        let files: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn damaged_files_are_refused_with_the_reason() {
        let (model, vocab) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        save(&path, &model, &vocab, &progress(), None).unwrap();
        let good = std::fs::read(&path).unwrap();

        std::fs::write(&path, &good[..good.len() / 2]).unwrap();
        let e = load(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("no es un archivo safetensors válido"), "{e}");

        let mut flipped = good.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x40;
        std::fs::write(&path, &flipped).unwrap();
        let e = load(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("suma de comprobación"), "{e}");

        std::fs::write(&path, b"hola").unwrap();
        assert!(load(&path, &Device::Cpu).is_err());

        let e = load(&dir.path().join("no-existe"), &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no se pudo leer"), "{e}");
    }

    /// Reescribe un punto de control cambiando sus metadatos o sus datos con `edit`, con la
    /// suma de comprobación recalculada: un archivo «bien sellado» con contenido malo.
    fn reseal(
        path: &Path,
        edit: impl FnOnce(&mut HashMap<String, String>, &mut Vec<(String, Vec<usize>, Vec<u8>)>),
    ) {
        let bytes = std::fs::read(path).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let mut meta = header.metadata().clone().unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut entries: Vec<(String, Vec<usize>, Vec<u8>)> = st
            .tensors()
            .into_iter()
            .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
            .collect();
        edit(&mut meta, &mut entries);
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let sum = checksum(
            &meta,
            entries.iter().map(|(n, _, b)| (n.as_str(), b.as_slice())),
        );
        meta.insert("checksum".into(), format!("{sum:016x}"));
        let views: Vec<_> = entries
            .iter()
            .map(|(n, s, b)| {
                (
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
                )
            })
            .collect();
        std::fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
    }

    #[test]
    fn non_finite_weights_are_never_saved_nor_loaded() {
        let (model, vocab) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        save(&path, &model, &vocab, &progress(), None).unwrap();
        let good = std::fs::read(&path).unwrap();
        // Un modelo con un NaN no se guarda, y el archivo que había sigue intacto.
        let mut params = Params::new(&Device::Cpu);
        for (i, (name, var)) in model.params.named().iter().enumerate() {
            let t = if i == 3 {
                (var.as_tensor() * f64::NAN).unwrap()
            } else {
                var.as_tensor().clone()
            };
            params.add(name, t).unwrap();
        }
        let broken = Gpt::from_params(&model.config, params).unwrap();
        let e = save(&path, &broken, &vocab, &progress(), None).unwrap_err();
        assert!(matches!(e, CheckpointError::NonFinite { .. }), "{e}");
        assert!(e.to_string().contains("NaN o infinito"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), good);
        // Uno que llegue con pesos infinitos (y bien sellado) tampoco se carga.
        reseal(&path, |_, entries| {
            entries[0].2[..4].copy_from_slice(&f32::INFINITY.to_le_bytes());
        });
        let e = load(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("no son números finitos"), "{e}");
    }

    #[test]
    fn the_checksum_covers_the_metadata() {
        let (model, vocab) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        save(&path, &model, &vocab, &progress(), None).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        // El mismo número de bytes: el archivo sigue siendo un safetensors válido.
        let (from, to) = (b"\"step\":\"7\"", b"\"step\":\"8\"");
        let i = bytes.windows(from.len()).position(|w| w == from).unwrap();
        bytes[i..i + to.len()].copy_from_slice(to);
        std::fs::write(&path, &bytes).unwrap();
        let e = load(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("suma de comprobación"), "{e}");
    }

    #[test]
    fn an_impossible_optimizer_step_is_refused() {
        let cfg = GptConfig::preset(Preset::Diminuto, 5);
        let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap();
        let vocab = vec!['\n', ' ', 'a', 'b', 'ñ'];
        let mut opt = AdamW::new(
            model.params.vars(),
            crate::model::adamw::AdamWConfig::with_lr(1e-3),
        )
        .unwrap();
        opt.step = 7;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        save(&path, &model, &vocab, &progress(), Some(&opt)).unwrap();
        assert!(load(&path, &Device::Cpu).unwrap().optimizer.is_some());
        reseal(&path, |meta, _| {
            meta.insert("optimizer_step".into(), u64::MAX.to_string());
        });
        let e = load(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(
            e.contains("el optimizador dice que dio 18446744073709551615 pasos"),
            "{e}"
        );
    }

    /// La activación y el calendario viajan en los metadatos; un punto de control de antes,
    /// sin ellos, es ReLU con tasa fija, y uno con un valor desconocido se rechaza.
    #[test]
    fn activation_and_schedule_are_saved_and_old_files_read_as_relu() {
        let mut cfg = GptConfig::preset(Preset::Diminuto, 5);
        cfg.activation = Activation::Gelu;
        cfg.lr_schedule = LrSchedule::WarmupCosine;
        let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap();
        let vocab = vec!['\n', ' ', 'a', 'b', 'ñ'];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        save(&path, &model, &vocab, &progress(), None).unwrap();
        let meta = metadata(&cfg, &vocab, &progress(), false);
        assert!(
            meta.contains(&("activation", "gelu".to_string())),
            "{meta:?}"
        );
        assert!(
            meta.contains(&("lr_schedule", "coseno".to_string())),
            "{meta:?}"
        );
        let loaded = load(&path, &Device::Cpu).unwrap();
        assert_eq!(loaded.config.activation, Activation::Gelu);
        assert_eq!(loaded.config.lr_schedule, LrSchedule::WarmupCosine);
        assert_eq!(loaded.model.blocks[0].ffwd.activation, Activation::Gelu);

        reseal(&path, |meta, _| {
            meta.remove("activation");
            meta.remove("lr_schedule");
        });
        let old = load(&path, &Device::Cpu).unwrap();
        assert_eq!(old.config.activation, Activation::Relu);
        assert_eq!(old.config.lr_schedule, LrSchedule::Constant);
        assert_eq!(old.model.blocks[1].ffwd.activation, Activation::Relu);

        reseal(&path, |meta, _| {
            meta.insert("activation".into(), "swiglu".into());
        });
        let e = load(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("«activation» vale «swiglu»"), "{e}");
    }

    #[test]
    fn differences_name_the_fields() {
        let a = GptConfig::preset(Preset::Cpu, 89);
        let mut b = a.clone();
        b.max_iters = 5000;
        assert!(resume_differences(&a, &b).is_empty());
        b.n_embd = 64;
        assert_eq!(
            resume_differences(&a, &b),
            vec!["n_embd = 128 en el punto de control y 64 ahora"]
        );
        let mut c = a.clone();
        c.activation = Activation::Gelu;
        assert_eq!(
            resume_differences(&a, &c),
            vec!["activation = relu en el punto de control y gelu ahora"]
        );
        // Con el coseno, el calendario depende de los pasos totales: no pueden cambiar.
        let mut d = a.clone();
        d.lr_schedule = LrSchedule::WarmupCosine;
        let mut e = d.clone();
        e.max_iters = 5000;
        assert_eq!(
            resume_differences(&d, &e),
            vec!["max_iters = 2000 en el punto de control y 5000 ahora"]
        );
    }

    #[test]
    fn a_bigram_table_round_trips_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bigrama.safetensors");
        let vocabulary = ['\n', 'a', 'ñ'];
        let table = ndarray::Array2::from_shape_fn((3, 3), |(i, j)| i as f32 - 0.5 * j as f32);
        save_table(&path, table.view(), &vocabulary, 10_000, 1337).unwrap();
        let loaded = load_table(&path).unwrap();
        assert_eq!(loaded.table, table);
        assert_eq!(loaded.vocabulary, vocabulary);
        assert_eq!((loaded.steps, loaded.seed), (10_000, 1337));
        // Un byte cambiado en los datos: la suma no cuadra.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let e = load_table(&path).unwrap_err().to_string();
        assert!(e.contains("suma de comprobación"), "{e}");
        // Un GPT no es una tabla, ni al revés.
        assert!(matches!(
            load(&path, &Device::Cpu),
            Err(CheckpointError::NotOurs { .. })
        ));
        // Una tabla con un NaN no se guarda, y la forma debe ser la del vocabulario.
        let mut bad = table.clone();
        bad[[1, 2]] = f32::NAN;
        let e = save_table(&path, bad.view(), &vocabulary, 1, 1).unwrap_err();
        assert!(matches!(e, CheckpointError::NonFinite { .. }), "{e}");
        assert!(save_table(&path, table.view(), &vocabulary[..2], 1, 1).is_err());
    }
}
