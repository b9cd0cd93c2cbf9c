//! `cargo ejercicios --generar [gpt|bigram] [OPCIÓN…]`: escribe con tu modelo guardado por
//! `--entrenar` y con **tus** piezas: tu tokenizador (2.2 y 2.3) para el texto inicial y el
//! generado, tu `generate` (7.11) y tu muestreo (5.6, con tu 5.4), tu top-k (7.12) y tu top-p
//! (7.13), en el orden y con los números del RNG de la biblioteca: con las soluciones de
//! referencia, el mismo punto de control y la misma semilla, el texto es el de `07_gpt
//! generar` con las mismas opciones.

use std::path::PathBuf;
use std::process::ExitCode;

use super::*;
use candle_core::Device;
use gpt_desde_cero::model::gpt;
use gpt_desde_cero::model::sampling::{self, Sampling};
use gpt_desde_cero::tools::{checkpoint, cli, generation, resources};

/// Las opciones de `--generar`; las de siempre, como en `07_gpt generar`.
struct Options {
    model: &'static str,
    checkpoint: Option<PathBuf>,
    prompt: String,
    temperature: f64,
    top_k: Option<usize>,
    top_p: Option<f32>,
    tokens: usize,
    seed: u64,
    width: Option<usize>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut it = args.iter().peekable();
    let model = match it.peek().map(|a| a.as_str()) {
        Some("bigram") => "bigram",
        Some(other) if !other.starts_with('-') && other != "gpt" => {
            return Err(format!(
                "no sé generar con «{other}»: elige `gpt` (por defecto) o `bigram`"
            ));
        }
        _ => "gpt",
    };
    if it.peek().is_some_and(|a| a.as_str() == model) {
        it.next();
    }
    let mut o = Options {
        model,
        checkpoint: None,
        prompt: "\n".into(),
        temperature: 1.0,
        top_k: None,
        top_p: None,
        tokens: 500,
        seed: rng::DEFAULT_SEED,
        width: None,
    };
    while let Some(arg) = it.next() {
        let text = match arg.as_str() {
            "--checkpoint" | "--prompt" | "--temperatura" | "--top-k" | "--top-p" | "--tokens"
            | "--semilla" | "--ancho" => it
                .next()
                .cloned()
                .ok_or_else(|| format!("falta el valor de {arg}"))?,
            other => {
                return Err(format!(
                    "opción desconocida «{other}» para --generar (valen --checkpoint, --prompt, \
                     --temperatura, --top-k, --top-p, --tokens, --semilla y --ancho)"
                ));
            }
        };
        let bad = |e: String| format!("valor no válido «{text}» para {arg}: {e}");
        match arg.as_str() {
            "--checkpoint" => o.checkpoint = Some(PathBuf::from(&text)),
            "--prompt" => o.prompt = text.clone(),
            "--temperatura" => o.temperature = cli::positive_decimal(&text).map_err(bad)?,
            "--top-k" => o.top_k = Some(cli::at_least_one(&text).map_err(bad)?),
            "--top-p" => o.top_p = Some(cli::probability(&text).map_err(bad)?),
            "--tokens" => o.tokens = cli::decimal(&text).map_err(bad)?,
            "--semilla" => o.seed = cli::decimal(&text).map_err(bad)?,
            _ => o.width = Some(cli::decimal(&text).map_err(bad)?),
        }
    }
    if o.model == "bigram" && (o.top_k.is_some() || o.top_p.is_some()) {
        return Err(
            "el bigrama sortea con tu 5.6, sin top-k ni top-p: quita --top-k y --top-p (o usa \
             el GPT)"
                .into(),
        );
    }
    Ok(o)
}

/// Escribe con tu modelo guardado; los errores, en español, como los de `07_gpt generar`.
pub fn main(args: &[String], grading_student: bool) -> ExitCode {
    if let Err(code) = super::entrenar::enter_project(grading_student) {
        return code;
    }
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            println!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Antes de nada, las piezas que se van a usar.
    let mut pieces = vec![
        "cap02::encode",
        "cap02::decode",
        "cap05::sample",
        "cap05::sample_with_temperature",
    ];
    if o.model == "gpt" {
        pieces.push("cap07::generate");
        if o.top_k.is_some() {
            pieces.push("cap07::top_k_filter");
        }
        if o.top_p.is_some() {
            pieces.push("cap07::top_p_filter");
        }
    }
    let what = format!("Tu {} aún no puede escribir", o.model);
    if !super::entrenar::pieces_ready(&pieces, &what, &format!("--generar {}", o.model)) {
        return ExitCode::FAILURE;
    }
    match write(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(o: &Options) -> Result<(), String> {
    resources::check_memory("generar tantos caracteres", generation::memory(o.tokens))
        .map_err(|e| e.to_string())?;
    let (dir, file) = match o.model {
        "gpt" => (super::entrenar::GPT_DIR, "gpt-mejor.safetensors"),
        _ => (super::entrenar::BIGRAM_DIR, super::entrenar::BIGRAM_FILE),
    };
    let path = o
        .checkpoint
        .clone()
        .unwrap_or_else(|| std::path::Path::new(dir).join(file));
    if !path.exists() {
        return Err(format!(
            "no existe «{}»; entrena primero con `cargo ejercicios --entrenar {}` o indica otro \
             con --checkpoint",
            path.display(),
            o.model
        ));
    }
    let mut r = rng::seeded(o.seed);
    let (vocabulary, text, new) = if o.model == "gpt" {
        let loaded = checkpoint::load(&path, &Device::Cpu).map_err(|e| e.to_string())?;
        let (text, ids) = prompt(&loaded.vocabulary, &o.prompt)?;
        let params = gpt::format_param_count(loaded.model.params.count());
        eprintln!(
            "Tu GPT: «{}» (paso {}, {params}), con tus piezas",
            path.display(),
            loaded.progress.step
        );
        let sampling = Sampling {
            temperature: o.temperature as f32,
            top_k: o.top_k,
            top_p: o.top_p,
        };
        let new = graded::cap07::generate(&loaded.model, &ids, o.tokens, |logits| {
            choose(logits, sampling, &mut r)
        })
        .map_err(|e| format!("tu generate devolvió un error: {e}"))?;
        (loaded.vocabulary, text, new)
    } else {
        let loaded = checkpoint::load_table(&path).map_err(|e| e.to_string())?;
        let (text, ids) = prompt(&loaded.vocabulary, &o.prompt)?;
        eprintln!(
            "Tu bigrama: «{}» ({} pasos), con tus piezas",
            path.display(),
            loaded.steps
        );
        let last = *ids.last().expect("el texto inicial no está vacío");
        let ids = super::entrenar::bigram_text(
            &loaded.table,
            last,
            o.tokens,
            o.temperature as f32,
            &mut r,
        );
        (loaded.vocabulary, text, ids[1..].to_vec())
    };
    let mut out = generation::TextOut::new(o.width);
    out.write(&text);
    out.write(&graded::cap02::decode(&vocabulary, &new));
    out.finish().map_err(|e| format!("{e:#}"))
}

/// El texto inicial como lo hace `07_gpt generar` (el salto de línea por defecto, las tildes
/// tecleadas pasadas a la forma del corpus, un carácter desconocido rechazado con su
/// posición) y codificado con **tu** `encode` (2.2).
fn prompt(vocabulary: &[char], text: &str) -> Result<(String, Vec<u32>), String> {
    let tokenizer = Tokenizer::from_chars(vocabulary.to_vec()).map_err(|e| e.to_string())?;
    let (text, _) = generation::prompt(&tokenizer, text).map_err(|e| format!("{e:#}"))?;
    let ids = graded::cap02::encode(vocabulary, &text);
    Ok((text, ids))
}

/// Elige el siguiente token con tus piezas, en el orden de la biblioteca
/// ([`sampling::choose_next`]): la temperatura, tu top-k (7.12) y tu top-p (7.13) sobre los
/// logits divididos por ella, y el sorteo con tu 5.6 (que divide por la temperatura y usa tu
/// 5.4) entre los que quedan. Saca del RNG lo mismo que la biblioteca: un número `f64` por
/// token (tu 5.6 lo recibe como `f32`), y ninguno si la temperatura es tan pequeña que la
/// división se desborda (entonces, como la biblioteca, el más probable).
pub fn choose(logits: &[f32], s: Sampling, r: &mut rng::Rng) -> u32 {
    if let Some(greedy) = sampling::frozen(logits, s.temperature) {
        return greedy;
    }
    let scaled: Vec<f32> = logits.iter().map(|l| l / s.temperature).collect();
    let kept = sampling::filter(
        scaled,
        s,
        graded::cap07::top_k_filter,
        graded::cap07::top_p_filter,
    );
    let masked: Vec<f32> = logits
        .iter()
        .zip(&kept)
        .map(|(&l, &k)| if k == f32::NEG_INFINITY { k } else { l })
        .collect();
    let u: f64 = r.random();
    // El `f32` más cercano, pero nunca 1 (tu 5.4 espera `u < 1`).
    let u = (u as f32).min(1.0 - f32::EPSILON / 2.0);
    graded::cap05::sample_with_temperature(&masked, s.temperature, u) as u32
}
