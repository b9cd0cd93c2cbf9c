//! El corpus: el texto de *Don Quijote*, descargado una vez y guardado en caché.
//!
//! Orden de búsqueda: `--corpus <RUTA>` si se indica; si no, la caché
//! (`datos/el_quijote.txt`, o la carpeta de `GPT_DESDE_CERO_DATOS`); si no está, se descarga
//! de `URL` (o de `GPT_DESDE_CERO_URL`). La descarga se escribe en un archivo temporal y solo
//! se renombra al final si está completa, es UTF-8 y, con la URL por defecto, es exactamente
//! el Quijote esperado (tamaño y huella SHA-256): un fallo nunca deja un archivo a medias.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::tools::resources::{self, io_detail};

/// La dirección de la que el cuaderno original descarga el texto.
pub const URL: &str = "https://gist.githubusercontent.com/jsdario/6d6c69398cb0c73111e49f1218960f79/raw/8d4fc4548d437e2a7203a5aeeace5477f598827d/el_quijote.txt";
/// Variable de entorno que cambia la URL de descarga.
pub const URL_VAR: &str = "GPT_DESDE_CERO_URL";
/// Variable de entorno que cambia la carpeta de la caché.
pub const DATA_DIR_VAR: &str = "GPT_DESDE_CERO_DATOS";
/// Carpeta de la caché, relativa al directorio actual.
pub const DATA_DIR: &str = "datos";
/// Nombre del archivo en la caché.
pub const FILE_NAME: &str = "el_quijote.txt";
/// Tamaño máximo aceptado para una descarga (el Quijote ocupa algo más de 1 MB).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// El texto que sirve [`URL`]: la URL fija un archivo concreto, así que sabemos su tamaño y su
/// huella SHA-256. Con ellos se rechaza una descarga que no es el Quijote (la página de un
/// portal wifi, un cuerpo cortado) y una caché dañada.
pub const EXPECTED: Expected = Expected {
    len: 1_060_259,
    sha256: "a67c1e3fefac58d0d2ee9f7c11d3790d4d0bc772115d5a77b964d733e9c1404d",
};

/// El tamaño y la huella que debe tener un texto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub len: u64,
    pub sha256: &'static str,
}

impl Expected {
    /// Qué no cuadra en `bytes`, o `None` si es el texto esperado.
    pub fn mismatch(&self, bytes: &[u8]) -> Option<String> {
        if bytes.len() as u64 != self.len {
            return Some(format!(
                "tiene {} bytes y el Quijote tiene {}",
                bytes.len(),
                self.len
            ));
        }
        let digest = Sha256::digest(bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        (hex != self.sha256).then(|| "su contenido no es el del Quijote esperado".to_string())
    }
}

const HOW_TO_PROCEED: &str = "Comprueba tu conexión y vuelve a intentarlo, o usa un archivo de texto local con --corpus <RUTA>.";

/// Todo lo que puede fallar al obtener el corpus. Cada mensaje dice qué pasó y qué hacer.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("no se pudo leer el corpus «{}»: {}", path.display(), io_detail(source))]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "el archivo «{}» no es texto UTF-8 válido (byte inválido en la posición {position}); guárdalo como UTF-8",
        path.display()
    )]
    FileNotUtf8 { path: PathBuf, position: usize },
    #[error(
        "el corpus «{}» está vacío; usa un archivo de texto con contenido (--corpus <RUTA>)",
        path.display()
    )]
    Empty { path: PathBuf },
    #[error(
        "la caché «{}» está dañada: {detail}. Bórrala para que se descargue de nuevo (rm «{}»), o usa --corpus <RUTA>.",
        path.display(), path.display()
    )]
    BadCache { path: PathBuf, detail: String },
    #[error("no se pudo conectar con {url}: {detail}. {HOW_TO_PROCEED}")]
    Network { url: String, detail: String },
    #[error(
        "se agotó el tiempo de espera con {url}: {detail}. No se guardó nada. {HOW_TO_PROCEED}"
    )]
    TimedOut { url: String, detail: String },
    #[error("el servidor respondió «{status}» al pedir {url}. {HOW_TO_PROCEED}")]
    Http { url: String, status: String },
    #[error(
        "la descarga se cortó: llegaron {received} bytes de {expected}. No se guardó nada; vuelve a intentarlo, o usa --corpus <RUTA>."
    )]
    Truncated { received: u64, expected: String },
    #[error(
        "la descarga supera el límite de {limit} bytes; ¿es la URL correcta? No se guardó nada. Usa --corpus <RUTA> para un texto local grande."
    )]
    TooLarge { limit: u64 },
    #[error(
        "lo descargado no es texto UTF-8 válido (byte inválido en la posición {position}); ¿es la URL correcta? No se guardó nada. Usa --corpus <RUTA> para un texto local."
    )]
    DownloadNotUtf8 { position: usize },
    #[error(
        "el servidor respondió sin contenido al pedir {url}; ¿es la URL correcta? No se guardó nada. Usa --corpus <RUTA> para un texto local."
    )]
    DownloadEmpty { url: String },
    #[error(
        "lo que llegó de {url} es una página web, no el texto (¿una red wifi que pide iniciar sesión?). No se guardó nada. {HOW_TO_PROCEED}"
    )]
    NotText { url: String },
    #[error(
        "lo que llegó de {url} no es el Quijote esperado: {detail}. No se guardó nada. {HOW_TO_PROCEED}"
    )]
    NotExpected { url: String, detail: String },
    #[error("no se pudo escribir la caché en «{}»: {}", path.display(), io_detail(source))]
    Cache { path: PathBuf, source: io::Error },
}

/// De dónde salió el texto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Un archivo indicado con `--corpus`.
    Local(PathBuf),
    /// La copia en caché.
    Cache(PathBuf),
    /// Recién descargado (y ya guardado en la caché).
    Downloaded { url: String, path: PathBuf },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Local(p) => write!(f, "archivo local «{}»", p.display()),
            Source::Cache(p) => write!(f, "caché «{}»", p.display()),
            Source::Downloaded { url, path } => {
                write!(f, "descargado de {url} y guardado en «{}»", path.display())
            }
        }
    }
}

/// El texto del corpus y su origen.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub text: String,
    pub source: Source,
}

/// Cómo descargar: URL, límite de tamaño, plazos y, si se sabe, qué debe llegar.
#[derive(Debug, Clone)]
pub struct Download {
    pub url: String,
    pub max_bytes: u64,
    /// Plazo para abrir la conexión.
    pub connect_timeout: Duration,
    /// Plazo sin recibir nada (ni la respuesta ni un trozo del cuerpo): un servidor mudo o
    /// una conexión que se queda colgada a mitad.
    pub stall_timeout: Duration,
    /// Plazo total de la descarga: también acaba con un goteo de pocos bytes por segundo.
    pub timeout: Duration,
    /// El tamaño y la huella del texto, si se saben (los de [`URL`]).
    pub expected: Option<Expected>,
}

impl Download {
    /// Una descarga de `url` con los plazos por defecto; si es [`URL`], se comprueba que
    /// llega exactamente el Quijote.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            max_bytes: MAX_BYTES,
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
            expected: (url == URL).then_some(EXPECTED),
        }
    }

    /// La descarga por defecto, con la URL de `GPT_DESDE_CERO_URL` si está definida.
    pub fn from_env() -> Self {
        let url = env_var(URL_VAR)
            .and_then(|v| v.into_string().ok())
            .unwrap_or_else(|| URL.to_string());
        Self::new(&url)
    }

    /// Descarga y valida el texto, y solo entonces lo guarda en `dest` (renombrando de golpe).
    pub fn to_file(&self, dest: &Path) -> Result<String, CorpusError> {
        let bytes = self.fetch()?;
        // Un cuerpo vacío se guardaría como una caché vacía, y esa caché fallaría siempre.
        if bytes.is_empty() {
            return Err(CorpusError::DownloadEmpty {
                url: self.url.clone(),
            });
        }
        if looks_like_html(&bytes) {
            return Err(CorpusError::NotText {
                url: self.url.clone(),
            });
        }
        if let Some(detail) = self.expected.and_then(|e| e.mismatch(&bytes)) {
            return Err(CorpusError::NotExpected {
                url: self.url.clone(),
                detail,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| CorpusError::DownloadNotUtf8 {
            position: e.utf8_error().valid_up_to(),
        })?;
        resources::write_atomically(dest, text.as_bytes()).map_err(|source| {
            CorpusError::Cache {
                path: dest.to_path_buf(),
                source,
            }
        })?;
        Ok(text)
    }

    /// La petición corre en un hilo aparte que nos pasa lo que llega; aquí esperamos cada
    /// trozo como mucho `stall_timeout`, con un aviso en pantalla mientras tanto.
    fn fetch(&self) -> Result<Vec<u8>, CorpusError> {
        let network = |e: reqwest::Error| {
            // Un plazo de conexión vencido es un problema de red; el plazo total, otro.
            if e.is_timeout() && !e.is_connect() {
                CorpusError::TimedOut {
                    url: self.url.clone(),
                    detail: format!("la descarga no terminó en {} s", self.timeout.as_secs_f64()),
                }
            } else {
                CorpusError::Network {
                    url: self.url.clone(),
                    detail: network_detail(&e),
                }
            }
        };
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(concat!("gpt-desde-cero/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(network)?;
        let request = client.get(&self.url);
        let limit = self.max_bytes;
        let (tx, rx) = mpsc::channel::<Event>();
        std::thread::spawn(move || {
            let response = match request.send() {
                Ok(r) => r,
                Err(e) => return drop(tx.send(Event::Failed(e))),
            };
            let head = Event::Head {
                status: response.status(),
                len: response.content_length(),
                html: response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/html")),
            };
            if tx.send(head).is_err() {
                return;
            }
            // Leemos como mucho un byte más del límite: así sabemos si lo supera.
            let mut reader = response.take(limit + 1);
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let event = match reader.read(&mut chunk) {
                    Ok(0) => Event::End,
                    Ok(n) => Event::Chunk(chunk[..n].to_vec()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Event::Cut(e),
                };
                let last = matches!(event, Event::End | Event::Cut(_));
                if tx.send(event).is_err() || last {
                    return;
                }
            }
        });

        let started = Instant::now();
        let bar = crate::tools::cli::wait_spinner(&format!("Conectando con {}", host(&self.url)));
        let stalled = |what: &str| CorpusError::TimedOut {
            url: self.url.clone(),
            detail: format!("{what} en {} s", self.stall_timeout.as_secs_f64()),
        };
        let next = |what: &str| -> Result<Event, CorpusError> {
            let left = self.timeout.saturating_sub(started.elapsed());
            match rx.recv_timeout(self.stall_timeout.min(left)) {
                Ok(event) => Ok(event),
                Err(_) if left <= self.stall_timeout => Err(CorpusError::TimedOut {
                    url: self.url.clone(),
                    detail: format!("la descarga no terminó en {} s", self.timeout.as_secs_f64()),
                }),
                Err(_) => Err(stalled(what)),
            }
        };
        let result = (|| {
            let (status, expected, html) = match next("el servidor no respondió")? {
                Event::Head { status, len, html } => (status, len, html),
                Event::Failed(e) => return Err(network(e)),
                _ => unreachable!("lo primero que llega es la respuesta o su error"),
            };
            if !status.is_success() {
                return Err(CorpusError::Http {
                    url: self.url.clone(),
                    status: status.to_string(),
                });
            }
            if html {
                return Err(CorpusError::NotText {
                    url: self.url.clone(),
                });
            }
            if expected.is_some_and(|n| n > self.max_bytes) {
                return Err(CorpusError::TooLarge {
                    limit: self.max_bytes,
                });
            }
            let truncated = |received: u64| CorpusError::Truncated {
                received,
                expected: expected.map_or("un total desconocido".to_string(), |n| n.to_string()),
            };
            crate::tools::cli::into_byte_bar(&bar, expected, "Descargando el corpus");
            let mut body = Vec::with_capacity(expected.unwrap_or(0).min(self.max_bytes) as usize);
            loop {
                match next("la descarga se detuvo: no llegó nada")? {
                    Event::Chunk(c) => {
                        body.extend_from_slice(&c);
                        bar.set_position(body.len() as u64);
                    }
                    Event::End => break,
                    Event::Cut(e) if is_timeout(&e) => {
                        return Err(CorpusError::TimedOut {
                            url: self.url.clone(),
                            detail: format!(
                                "la descarga no terminó en {} s",
                                self.timeout.as_secs_f64()
                            ),
                        });
                    }
                    Event::Cut(_) => return Err(truncated(body.len() as u64)),
                    _ => unreachable!("la respuesta llega una sola vez"),
                }
            }
            let received = body.len() as u64;
            if received > self.max_bytes {
                return Err(CorpusError::TooLarge {
                    limit: self.max_bytes,
                });
            }
            if expected.is_some_and(|n| n != received) {
                return Err(truncated(received));
            }
            Ok(body)
        })();
        bar.finish_and_clear(); // que ningún mensaje quede detrás de la barra
        result
    }
}

/// Lo que el hilo de la descarga cuenta a quien espera.
enum Event {
    Head {
        status: reqwest::StatusCode,
        len: Option<u64>,
        html: bool,
    },
    Failed(reqwest::Error),
    Chunk(Vec<u8>),
    End,
    Cut(io::Error),
}

/// ¿Se cortó la lectura del cuerpo por el plazo total de reqwest?
fn is_timeout(e: &io::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|r| r as _);
    while let Some(c) = cause {
        if c.downcast_ref::<reqwest::Error>()
            .is_some_and(|r| r.is_timeout())
        {
            return true;
        }
        cause = c.source();
    }
    e.kind() == io::ErrorKind::TimedOut
}

/// El servidor de una URL, para el aviso de espera.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// ¿Empieza como una página HTML? (Los portales cautivos contestan 200 con una.)
fn looks_like_html(bytes: &[u8]) -> bool {
    let start: Vec<u8> = bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF)
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    start.starts_with(b"<!doctype html") || start.starts_with(b"<html")
}

/// La ruta de la caché: `$GPT_DESDE_CERO_DATOS/el_quijote.txt` o `datos/el_quijote.txt`.
pub fn cache_path() -> PathBuf {
    let dir = env_var(DATA_DIR_VAR).map_or_else(|| PathBuf::from(DATA_DIR), PathBuf::from);
    dir.join(FILE_NAME)
}

/// Una variable de entorno definida y no vacía (`VAR=` cuenta como no definida).
fn env_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

// ANCHOR: load
/// Carga el corpus: `local` si se indica; si no, la caché; si no, lo descarga.
pub fn load(local: Option<&Path>) -> Result<Corpus, CorpusError> {
    load_with(local, &cache_path(), &Download::from_env())
}

/// Como [`load`], con la caché y la descarga explícitas (lo usan las pruebas).
pub fn load_with(
    local: Option<&Path>,
    cache: &Path,
    download: &Download,
) -> Result<Corpus, CorpusError> {
    if let Some(path) = local {
        let text = read_text(path)?;
        return Ok(Corpus {
            text,
            source: Source::Local(path.to_path_buf()),
        });
    }
    if cache.is_file() {
        let text = read_cache(cache, download.expected)?;
        return Ok(Corpus {
            text,
            source: Source::Cache(cache.to_path_buf()),
        });
    }
    let text = download.to_file(cache)?;
    Ok(Corpus {
        text,
        source: Source::Downloaded {
            url: download.url.clone(),
            path: cache.to_path_buf(),
        },
    })
}
// ANCHOR_END: load

/// Lee la caché y comprueba que es lo que se guardó: si no, dice cómo volver a descargarla.
fn read_cache(path: &Path, expected: Option<Expected>) -> Result<String, CorpusError> {
    let bad = |detail: String| CorpusError::BadCache {
        path: path.to_path_buf(),
        detail,
    };
    let text = match read_text(path) {
        Ok(text) => text,
        Err(CorpusError::FileNotUtf8 { position, .. }) => {
            return Err(bad(format!(
                "no es texto UTF-8 válido (byte inválido en la posición {position})"
            )));
        }
        Err(CorpusError::Empty { .. }) => return Err(bad("está vacía".to_string())),
        Err(e) => return Err(e),
    };
    if let Some(detail) = expected.and_then(|e| e.mismatch(text.as_bytes())) {
        return Err(bad(detail));
    }
    Ok(text)
}

fn read_text(path: &Path) -> Result<String, CorpusError> {
    let bytes = std::fs::read(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| CorpusError::FileNotUtf8 {
        path: path.to_path_buf(),
        position: e.utf8_error().valid_up_to(),
    })?;
    if text.is_empty() {
        return Err(CorpusError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(text)
}

/// Qué falló en la red, en español, seguido del detalle técnico de `reqwest`.
fn network_detail(e: &reqwest::Error) -> String {
    let what = if e.is_builder() {
        "la URL no es válida"
    } else if e.is_timeout() {
        "se agotó el tiempo de espera"
    } else if e.is_connect() {
        "no se pudo abrir la conexión"
    } else {
        "falló la petición"
    };
    format!("{what} ({})", error_chain(e))
}

/// El mensaje de un error con todas sus causas, en una línea.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    msg
}

// ANCHOR: prefix_chars
/// Los primeros `n` caracteres de `text` (no bytes: «ñ» ocupa dos bytes en UTF-8).
pub fn prefix_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}
// ANCHOR_END: prefix_chars

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_counts_chars_not_bytes() {
        assert_eq!(prefix_chars("año nuevo", 3), "año");
        assert_eq!(prefix_chars("año", 10), "año");
        assert_eq!(prefix_chars("", 2), "");
    }

    #[test]
    fn local_file_wins_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("bueno.txt");
        std::fs::write(&good, "En un lugar").unwrap();
        let unreachable = Download::new("http://127.0.0.1:9/nada");
        let cache = dir.path().join("cache").join(FILE_NAME);
        let c = load_with(Some(&good), &cache, &unreachable).unwrap();
        assert_eq!(c.text, "En un lugar");
        assert_eq!(c.source, Source::Local(good));

        let bad = dir.path().join("malo.txt");
        std::fs::write(&bad, b"abc\xff").unwrap();
        let err = load_with(Some(&bad), &cache, &unreachable).unwrap_err();
        assert!(err.to_string().contains("posición 3"), "{err}");

        let missing = dir.path().join("no-existe.txt");
        let err = load_with(Some(&missing), &cache, &unreachable).unwrap_err();
        assert!(
            err.to_string().starts_with("no se pudo leer el corpus"),
            "{err}"
        );
        assert!(!cache.exists());
    }
}
