//! El corpus: el texto de *Don Quijote*, descargado una vez y guardado en caché. Es una
//! herramienta: la lección (`text::corpus`) solo lee el texto y lo cuenta.
//!
//! Orden de búsqueda: `--corpus <RUTA>` si se indica; si no, la caché
//! (`datos/el_quijote.txt`, o la carpeta de `GPT_DESDE_CERO_DATOS`); si no está, se descarga
//! de `URL` (o de `GPT_DESDE_CERO_URL`). La carpeta de la caché se comprueba antes de
//! descargar. La descarga se escribe en un archivo temporal y solo se renombra al final si
//! está completa (tantos bytes como anuncia el servidor), no es una página web, es UTF-8 y,
//! con la URL por defecto, es exactamente el Quijote esperado (tamaño y huella SHA-256): un
//! fallo nunca deja un archivo a medias, ni una carpeta recién creada.

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
                crate::tools::pretty::integer(bytes.len()),
                crate::tools::pretty::integer(self.len)
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
        "la descarga se cortó: llegaron {} bytes de {expected}. No se guardó nada; vuelve a intentarlo, o usa --corpus <RUTA>.",
        crate::tools::pretty::integer(received)
    )]
    Truncated { received: u64, expected: String },
    #[error(
        "la respuesta de {url} no es coherente: anuncia {} bytes (Content-Length) y llegaron {}. No se guardó nada; ¿es la URL correcta? Usa --corpus <RUTA> para un texto local.",
        crate::tools::pretty::integer(declared),
        crate::tools::pretty::integer(received)
    )]
    LengthMismatch {
        url: String,
        declared: u64,
        received: u64,
    },
    #[error(
        "la descarga supera el límite de {} bytes; ¿es la URL correcta? No se guardó nada. Usa --corpus <RUTA> para un texto local grande.",
        crate::tools::pretty::integer(limit)
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
    #[error(
        "no se puede usar «{}» como carpeta de la caché del corpus: {detail}. No se descargó nada; elige otra carpeta con {DATA_DIR_VAR}, o usa --corpus <RUTA>.",
        dir.display()
    )]
    CacheDir { dir: PathBuf, detail: String },
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
                    detail: format!("la descarga no terminó en {}", seconds(self.timeout)),
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
            // La longitud que anuncia la cabecera, aunque `reqwest` no la use (con
            // `Transfer-Encoding: chunked` manda la codificación y la cabecera se ignora).
            let declared = response
                .headers()
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let head = Event::Head {
                status: response.status(),
                len: declared.or(response.content_length()),
                html: response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(is_web_page_type),
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
        let bar = wait_spinner(&format!("Conectando con {}", host(&self.url)));
        let stalled = |what: &str| CorpusError::TimedOut {
            url: self.url.clone(),
            detail: format!("{what} en {}", seconds(self.stall_timeout)),
        };
        let next = |what: &str| -> Result<Event, CorpusError> {
            let left = self.timeout.saturating_sub(started.elapsed());
            match rx.recv_timeout(self.stall_timeout.min(left)) {
                Ok(event) => Ok(event),
                Err(_) if left <= self.stall_timeout => Err(CorpusError::TimedOut {
                    url: self.url.clone(),
                    detail: format!("la descarga no terminó en {}", seconds(self.timeout)),
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
                    status: status_in_spanish(status),
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
                expected: expected.map_or("un total desconocido".to_string(), |n| {
                    crate::tools::pretty::integer(n)
                }),
            };
            into_byte_bar(&bar, expected, "Descargando el corpus");
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
                            detail: format!("la descarga no terminó en {}", seconds(self.timeout)),
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
            match expected {
                Some(n) if received < n => return Err(truncated(received)),
                Some(n) if received > n => {
                    return Err(CorpusError::LengthMismatch {
                        url: self.url.clone(),
                        declared: n,
                        received,
                    });
                }
                _ => {}
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

/// ¿Dice la cabecera `Content-Type` que es una página web?
fn is_web_page_type(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("text/html") || mime.eq_ignore_ascii_case("application/xhtml+xml")
}

/// ¿Es una página web, aunque ninguna cabecera lo diga? (Los portales cautivos contestan 200
/// con una, a veces sin `Content-Type`.) Lo es si empieza, tras espacios y la marca BOM, por
/// `<` seguido de una letra, `!` o `?`, y en su primer kilobyte hay alguna etiqueta de HTML:
/// un texto que empieza por «<» pero no tiene etiquetas de HTML no es una página.
fn looks_like_html(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.trim_ascii_start();
    let head: Vec<u8> = start
        .iter()
        .take(1024)
        .map(u8::to_ascii_lowercase)
        .collect();
    let opens_a_tag = head.first() == Some(&b'<')
        && head
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'!' || *c == b'?');
    const TAGS: [&[u8]; 12] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<title",
        b"<meta",
        b"<script",
        b"<style",
        b"<link",
        b"<div",
        b"<p>",
        b"<a href",
    ];
    opens_a_tag && TAGS.iter().any(|t| head.windows(t.len()).any(|w| w == *t))
}

/// Un plazo para leerlo: «30 s», «1,5 s» (con coma decimal).
fn seconds(d: Duration) -> String {
    format!("{} s", crate::tools::pretty::number(d.as_secs_f64()))
}

/// Un estado HTTP en español, con su nombre técnico entre paréntesis: «404: esa dirección no
/// existe (Not Found)».
fn status_in_spanish(status: reqwest::StatusCode) -> String {
    let code = status.as_u16();
    let what = match code {
        400 => "la petición no es válida",
        401 => "hace falta identificarse",
        403 => "el acceso está prohibido",
        404 => "esa dirección no existe",
        408 | 504 => "se agotó el tiempo de espera en el servidor",
        410 => "esa dirección ya no existe",
        429 => "demasiadas peticiones; espera un poco",
        500 => "error interno del servidor",
        502 => "el servidor intermedio recibió una respuesta no válida",
        503 => "el servicio no está disponible ahora",
        _ if status.is_redirection() => "una redirección que no se pudo seguir",
        _ if status.is_client_error() => "el servidor rechazó la petición",
        _ if status.is_server_error() => "error del servidor",
        _ => "una respuesta inesperada",
    };
    match status.canonical_reason() {
        Some(reason) => format!("{code}: {what} ({reason})"),
        None => format!("{code}: {what}"),
    }
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
        remove_stale_temps(cache_dir(cache));
        let text = read_cache(cache, download.expected)?;
        return Ok(Corpus {
            text,
            source: Source::Cache(cache.to_path_buf()),
        });
    }
    // Antes de descargar, que se podrá guardar: si no, se dice sin esperar a la descarga.
    let created = prepare_cache(cache)?;
    // Si la descarga falla, las carpetas recién creadas se borran: no queda nada.
    let text = download.to_file(cache).inspect_err(|_| created.remove())?;
    Ok(Corpus {
        text,
        source: Source::Downloaded {
            url: download.url.clone(),
            path: cache.to_path_buf(),
        },
    })
}
// ANCHOR_END: load

/// La carpeta de la caché (`.` si la ruta no tiene carpeta).
fn cache_dir(cache: &Path) -> &Path {
    match cache.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Comprueba, antes de descargar, todo lo que impediría guardar la descarga en `cache`: que
/// ahí haya algo que no es un archivo normal (una carpeta), que su carpeta sea un archivo o
/// que no se pueda escribir en ella (se prueba con un temporal que se borra enseguida). Crea
/// la carpeta si hace falta, borra los temporales que dejó una descarga cortada de golpe y
/// devuelve las carpetas que creó.
fn prepare_cache(cache: &Path) -> Result<resources::NewDirs, CorpusError> {
    if cache.exists() {
        let source = resources::check_regular_file(cache)
            .err()
            .unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
        return Err(CorpusError::Cache {
            path: cache.to_path_buf(),
            source,
        });
    }
    let dir = cache_dir(cache);
    let fail = |detail: String| CorpusError::CacheDir {
        dir: dir.to_path_buf(),
        detail,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(fail("es un archivo, no una carpeta".to_string()));
    }
    let created = resources::NewDirs::create(dir).map_err(|e| fail(io_detail(&e)))?;
    // La única forma segura de saber si se puede escribir: probarlo.
    tempfile::Builder::new()
        .prefix(resources::TEMP_PREFIX)
        .suffix(resources::TEMP_SUFFIX)
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| {
            created.remove();
            fail(io_detail(&e))
        })?;
    remove_stale_temps(dir);
    Ok(created)
}

/// Borra de la carpeta de la caché los temporales que dejó una descarga cortada de golpe (un
/// `kill -9`, un apagón) y lo cuenta.
fn remove_stale_temps(dir: &Path) {
    let freed = resources::remove_stale_temps(dir);
    if freed > 0 {
        crate::eprintln!(
            "Borrados en «{}» los temporales de una escritura que no terminó ({}).",
            dir.display(),
            resources::bytes(freed)
        );
    }
}

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
    let read_error = |source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Antes de leer: un FIFO esperaría para siempre y /dev/zero no se acaba nunca.
    resources::check_regular_file(path).map_err(read_error)?;
    let bytes = std::fs::read(path).map_err(read_error)?;
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

/// Qué falló en la red, en español, con el término técnico entre paréntesis (los textos de
/// `reqwest` y del sistema vienen en inglés: no se muestran).
fn network_detail(e: &reqwest::Error) -> String {
    if e.is_builder() {
        return format!("la URL no es válida: {}", url_problem(e));
    }
    // Todas las causas, en minúsculas, para reconocer las que no tienen un tipo propio.
    let text = error_chain(e).to_lowercase();
    let mut io_kind = None;
    let mut os_code = None;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            io_kind = Some(io.kind());
            os_code = io.raw_os_error().or(os_code);
        }
        cause = c.source();
    }
    use io::ErrorKind as K;
    let what = if text.contains("dns error") || text.contains("failed to lookup address") {
        "no se encontró el servidor (DNS)"
    } else if text.contains("certificate") {
        "el certificado del servidor no es válido (TLS)"
    } else if e.is_redirect() {
        "demasiadas redirecciones (redirect)"
    } else if let Some(what) = io_kind.and_then(|k| match k {
        K::ConnectionRefused => Some("nadie escucha en esa dirección (connection refused)"),
        K::ConnectionReset => Some("el servidor cortó la conexión (connection reset)"),
        K::ConnectionAborted => Some("la conexión se abortó (connection aborted)"),
        K::NetworkUnreachable => Some("no se llega a esa red (network unreachable)"),
        K::HostUnreachable => Some("no se llega al servidor (host unreachable)"),
        K::NetworkDown => Some("la red no está disponible (network down)"),
        K::AddrNotAvailable => Some("la dirección no está disponible (address not available)"),
        K::PermissionDenied => Some("el sistema no permite la conexión (permission denied)"),
        K::TimedOut => Some("se agotó el tiempo de espera (timeout)"),
        _ => None,
    }) {
        what
    } else if text.contains("tls")
        || text.contains("handshake")
        || (e.is_connect() && e.url().is_some_and(|u| u.scheme() == "https"))
    {
        // Con https, lo que falla tras abrir la conexión es el cifrado (p. ej. un servidor
        // que solo habla http: «received corrupt message»).
        "falló la conexión segura (TLS)"
    } else if text.contains("connection closed before message completed") {
        "el servidor cerró la conexión sin responder (incomplete message)"
    } else if text.contains("invalid http") || text.contains("parse") {
        "la respuesta no es HTTP válido (parse error)"
    } else if e.is_timeout() {
        "se agotó el tiempo de espera (timeout)"
    } else {
        // Lo que no sabemos nombrar: al menos el número del error del sistema, si lo hay.
        let what = if e.is_connect() {
            "no se pudo abrir la conexión (connect error)"
        } else {
            "falló la petición (request error)"
        };
        return match os_code {
            Some(code) => format!("{what}, error del sistema n.º {code}"),
            None => what.to_string(),
        };
    };
    what.to_string()
}

/// Por qué no vale una URL, en español (el error de `url` viene en inglés).
fn url_problem(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let Some(url) = e.url() else {
        // `reqwest` no llegó a leerla: repetimos la lectura para saber qué le pasa.
        return match e.source().map(|c| c.to_string()).as_deref() {
            Some("relative URL without a base") => {
                "le falta el protocolo (debe empezar por http:// o https://)".to_string()
            }
            Some("empty host") => "le falta el nombre del servidor (empty host)".to_string(),
            Some("invalid port number") => "el puerto no es válido (invalid port)".to_string(),
            Some("invalid IPv4 address" | "invalid IPv6 address") => {
                "la dirección IP no es válida (invalid IP address)".to_string()
            }
            Some("invalid international domain name" | "invalid domain character") => {
                "el nombre del servidor tiene caracteres no válidos (invalid domain)".to_string()
            }
            _ => "no se puede leer (parse error)".to_string(),
        };
    };
    match url.scheme() {
        "http" | "https" => "no se puede usar (builder error)".to_string(),
        other => format!("solo se admiten http:// y https://, no {other}://"),
    }
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

/// Un aviso que gira mientras se espera (a un servidor, por ejemplo), con el tiempo que
/// lleva. Como todas las barras, se oculta sola si la salida de errores no es una terminal.
pub fn wait_spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({pasado})")
            .expect("plantilla fija")
            .with_key(
                "pasado",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&crate::tools::pretty::duration(s.elapsed()));
                },
            ),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    bar
}

/// Convierte el aviso de espera en la barra de una descarga de `len` bytes (o de tamaño
/// desconocido). Los tamaños van con prefijos binarios y la norma del libro
/// ([`resources::bytes`]: «1,5 MiB»), no a la inglesa como `{bytes}` de indicatif.
pub fn into_byte_bar(bar: &indicatif::ProgressBar, len: Option<u64>, message: &'static str) {
    use indicatif::ProgressState;
    use std::fmt::Write;
    let template = match len {
        Some(n) => {
            bar.set_length(n);
            "{msg} {bar:30} {recibido}/{total} ({ritmo})"
        }
        None => "{spinner} {msg} {recibido} ({ritmo})",
    };
    let style = indicatif::ProgressStyle::with_template(template)
        .expect("plantilla fija")
        .with_key("recibido", |s: &ProgressState, w: &mut dyn Write| {
            let _ = w.write_str(&resources::bytes(s.pos()));
        })
        .with_key("total", |s: &ProgressState, w: &mut dyn Write| {
            let _ = w.write_str(&s.len().map_or_else(|| "?".to_string(), resources::bytes));
        })
        .with_key("ritmo", |s: &ProgressState, w: &mut dyn Write| {
            let _ = w.write_str(&resources::bytes_per_second(s.per_sec()));
        });
    bar.set_style(style);
    bar.set_message(message);
}

#[cfg(test)]
mod tests {
    use super::*;

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
