//! La carpeta de salida de un entrenamiento, para un solo proceso a la vez.
//!
//! Dos entrenamientos en la misma carpeta se pisarían: el segundo borraría los temporales que
//! el primero está escribiendo, o reemplazaría sus puntos de control. [`OutputDir::claim`]
//! crea la carpeta, comprueba que se puede escribir en ella y la cierra con un cerrojo
//! (`flock`) sobre un archivo suyo, que guarda el PID de quien la usa. El sistema suelta el
//! cerrojo cuando el proceso termina, de cualquier forma (también con `kill -9` o un apagón):
//! un cerrojo de un proceso muerto no estorba nunca, y el archivo que queda se reutiliza.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use crate::tools::resources::{self, io_detail};

/// Nombre del archivo del cerrojo, dentro de la carpeta de salida.
pub const LOCK_FILE: &str = ".gpt-desde-cero.cerrojo";

/// Una carpeta que no se puede usar como salida.
#[derive(Debug, thiserror::Error)]
pub enum OutputDirError {
    #[error("no se puede usar «{}» como carpeta de salida: {detail}", dir.display())]
    Unusable { dir: PathBuf, detail: String },
    #[error(
        "la carpeta «{}» la está usando otro proceso{}: espera a que termine, o elige otra \
         carpeta con --salidas",
        dir.display(),
        pid.map(|p| format!(" (PID {p})")).unwrap_or_default()
    )]
    Busy { dir: PathBuf, pid: Option<u32> },
}

/// Una carpeta de salida reservada para este proceso hasta que se suelte. Al soltarla se
/// borra el archivo del cerrojo y, si la creó [`OutputDir::claim`] y sigue vacía (el trabajo
/// falló antes de escribir nada), también la carpeta: un error no deja carpetas vacías.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    lock: File,
    /// Las carpetas que no existían, de la más profunda hacia arriba.
    created: Vec<PathBuf>,
}

impl OutputDir {
    /// Crea `dir` si hace falta, comprueba que se puede escribir en ella, la reserva y borra
    /// los temporales que dejó un proceso que murió a mitad de una escritura (lo dice por la
    /// salida de errores). Si otro proceso vivo la usa, se niega diciendo su PID.
    pub fn claim(dir: &Path) -> Result<Self, OutputDirError> {
        let unusable = |detail: String| OutputDirError::Unusable {
            dir: dir.to_path_buf(),
            detail,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(unusable("es un archivo, no una carpeta".into()));
        }
        let created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        let remove_created = || {
            for d in &created {
                let _ = std::fs::remove_dir(d); // solo borra carpetas vacías
            }
        };
        std::fs::create_dir_all(dir).map_err(|e| unusable(io_detail(&e)))?;
        // Abrir (o crear) el archivo del cerrojo ya prueba que se puede escribir en la carpeta.
        let lock = match lock_file(dir) {
            Ok(Some(file)) => file,
            Ok(None) => {
                remove_created();
                return Err(OutputDirError::Busy {
                    dir: dir.to_path_buf(),
                    pid: holder_pid(dir),
                });
            }
            Err(e) => {
                remove_created();
                return Err(unusable(io_detail(&e)));
            }
        };
        let claimed = Self {
            dir: dir.to_path_buf(),
            lock,
            created,
        };
        // Con la carpeta ya nuestra, ningún temporal es de otro proceso vivo.
        let freed = resources::remove_stale_temps(dir);
        if freed > 0 {
            crate::eprintln!(
                "Borrados en «{}» los temporales de una escritura que no terminó ({}).",
                dir.display(),
                resources::bytes(freed)
            );
        }
        Ok(claimed)
    }

    /// La carpeta.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        // El cerrojo se suelta al cerrar el archivo; antes lo borramos, mientras es nuestro.
        let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
        let _ = self.lock.set_len(0);
        for d in &self.created {
            let _ = std::fs::remove_dir(d); // solo si quedó vacía
        }
    }
}

/// Abre el archivo del cerrojo de `dir` y lo cierra para este proceso, con su PID dentro.
/// `Ok(None)` si lo tiene otro proceso.
#[cfg(unix)]
fn lock_file(dir: &Path) -> io::Result<Option<File>> {
    use std::os::unix::fs::MetadataExt as _;
    use std::os::unix::io::AsRawFd as _;
    let path = dir.join(LOCK_FILE);
    // Otro proceso puede borrar el archivo justo entre que lo abrimos y lo cerramos (al
    // terminar): entonces nuestro cerrojo es sobre un archivo que ya no está, y se reintenta.
    for _ in 0..10 {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        // SAFETY: `flock` sobre un descriptor abierto que vive mientras dura la llamada.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if status != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Ok(None);
            }
            return Err(e);
        }
        let same = std::fs::metadata(&path)
            .and_then(|on_disk| Ok((on_disk, file.metadata()?)))
            .is_ok_and(|(a, b)| a.dev() == b.dev() && a.ino() == b.ino());
        if !same {
            continue;
        }
        let mut file = file;
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        return Ok(Some(file));
    }
    Err(io::Error::other(
        "el archivo del cerrojo cambia sin parar (¿otro programa lo borra?)",
    ))
}

/// Sin `flock` (fuera de Unix) no hay cerrojo: solo se comprueba que se puede escribir.
#[cfg(not(unix))]
fn lock_file(dir: &Path) -> io::Result<Option<File>> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map(Some)
}

/// El PID que escribió en el cerrojo quien lo tiene, si se puede leer.
fn holder_pid(dir: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(dir.join(LOCK_FILE))
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_claimed_once_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("salidas");
        let first = OutputDir::claim(&out).unwrap();
        let lock = std::fs::read_to_string(out.join(LOCK_FILE)).unwrap();
        assert_eq!(lock, std::process::id().to_string());
        // Otro descriptor del mismo proceso cuenta como otro dueño para `flock`.
        let err = OutputDir::claim(&out).unwrap_err().to_string();
        let expected = format!("(PID {})", std::process::id());
        assert!(
            err.contains("la está usando otro proceso") && err.contains(&expected),
            "{err}"
        );
        drop(first);
        // Soltada y vacía: como la creó `claim`, ya no está.
        assert!(!out.exists());
        let again = OutputDir::claim(&out).unwrap();
        std::fs::write(out.join("gpt.safetensors"), b"modelo").unwrap();
        drop(again);
        // Con trabajo dentro, la carpeta se queda, sin el cerrojo.
        assert!(out.join("gpt.safetensors").exists());
        assert!(!out.join(LOCK_FILE).exists());
    }

    #[test]
    fn a_lock_left_by_a_dead_process_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        // El archivo de un proceso que murió con `kill -9`: existe, pero nadie tiene el cerrojo.
        std::fs::write(dir.path().join(LOCK_FILE), b"999999").unwrap();
        let claimed = OutputDir::claim(dir.path()).unwrap();
        assert_eq!(claimed.path(), dir.path());
    }

    #[test]
    fn a_file_is_not_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("salidas");
        std::fs::write(&file, b"no soy carpeta").unwrap();
        let err = OutputDir::claim(&file).unwrap_err().to_string();
        assert!(err.contains("es un archivo, no una carpeta"), "{err}");
    }
}
