//! El corpus: el texto de *Don Quijote*, descargado una vez y guardado en caché.
//!
//! Orden de búsqueda: `--corpus <RUTA>` si se indica; si no, la caché
//! (`datos/el_quijote.txt`, o la carpeta de `GPT_DESDE_CERO_DATOS`); si no está, se descarga
//! de `URL` (o de `GPT_DESDE_CERO_URL`). La descarga se escribe en un archivo temporal y solo
//! se renombra al final si está completa y es UTF-8: un fallo nunca deja un archivo a medias.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    #[error("no se pudo conectar con {url}: {detail}. {HOW_TO_PROCEED}")]
    Network { url: String, detail: String },
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

/// Cómo descargar: URL, límite de tamaño y tiempos de espera.
#[derive(Debug, Clone)]
pub struct Download {
    pub url: String,
    pub max_bytes: u64,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl Download {
    /// La descarga por defecto, con la URL de `GPT_DESDE_CERO_URL` si está definida.
    pub fn from_env() -> Self {
        Self {
            url: env_var(URL_VAR)
                .and_then(|v| v.into_string().ok())
                .unwrap_or_else(|| URL.to_string()),
            max_bytes: MAX_BYTES,
            connect_timeout: Duration::from_secs(15),
            timeout: Duration::from_secs(300),
        }
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
        let text = String::from_utf8(bytes).map_err(|e| CorpusError::DownloadNotUtf8 {
            position: e.utf8_error().valid_up_to(),
        })?;
        write_atomically(dest, text.as_bytes())?;
        Ok(text)
    }

    fn fetch(&self) -> Result<Vec<u8>, CorpusError> {
        let network = |e: reqwest::Error| CorpusError::Network {
            url: self.url.clone(),
            detail: network_detail(&e),
        };
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(concat!("gpt-desde-cero/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(network)?;
        let response = client.get(&self.url).send().map_err(network)?;
        if !response.status().is_success() {
            return Err(CorpusError::Http {
                url: self.url.clone(),
                status: response.status().to_string(),
            });
        }
        let expected = response.content_length();
        if expected.is_some_and(|n| n > self.max_bytes) {
            return Err(CorpusError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let bar = crate::tools::cli::byte_bar(expected, "Descargando el corpus");
        let mut body = Vec::with_capacity(expected.unwrap_or(0) as usize);
        // Leemos como mucho un byte más del límite: así sabemos si lo supera sin leerlo todo.
        let mut reader = bar.wrap_read(response.take(self.max_bytes + 1));
        let truncated = |received: u64| CorpusError::Truncated {
            received,
            expected: expected.map_or("un total desconocido".to_string(), |n| n.to_string()),
        };
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    bar.finish_and_clear(); // que el mensaje de error no quede tras la barra
                    return Err(truncated(body.len() as u64));
                }
            }
        }
        bar.finish_and_clear();
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
        let text = read_text(cache)?;
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

/// Escribe en un temporal de la misma carpeta y lo renombra: o queda el archivo entero, o nada.
/// La carpeta se crea solo aquí, con la descarga ya completa y validada; si aun así falla la
/// escritura, se borran las carpetas que acabamos de crear (el temporal se borra solo).
fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<(), CorpusError> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Las carpetas que no existen aún, de la más profunda hacia arriba.
    let created: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    let write = || -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".descarga-")
            .tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(dest).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|source| {
        for d in &created {
            let _ = std::fs::remove_dir(d); // solo borra carpetas vacías
        }
        CorpusError::Cache {
            path: dest.to_path_buf(),
            source,
        }
    })
}

/// Un error de entrada/salida en español; si no es de los habituales, el texto del sistema.
fn io_detail(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no existe".to_string(),
        io::ErrorKind::PermissionDenied => "no tienes permiso".to_string(),
        io::ErrorKind::IsADirectory => "es una carpeta, no un archivo".to_string(),
        io::ErrorKind::StorageFull => "no queda espacio en el disco".to_string(),
        _ => e.to_string(),
    }
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
        let unreachable = Download {
            url: "http://127.0.0.1:9/nada".into(),
            ..Download::from_env()
        };
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
