//! Los recursos del usuario: sus archivos, su memoria y su disco.
//!
//! Tres promesas que cumplen todos los programas:
//!
//! - **Nada se escribe a medias.** [`write_atomically`] escribe en un temporal de la misma
//!   carpeta y lo renombra: o queda el archivo nuevo entero, o el anterior.
//! - **Lo que falta se dice antes de empezar.** [`check_memory`] y [`check_disk`] comparan lo
//!   que un trabajo necesitará con lo que hay, y [`prepare_output_dir`] comprueba la carpeta de
//!   salida antes de entrenar, no después.
//! - **Los errores del sistema, en español** ([`io_detail`]).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Prefijo de los temporales de [`write_atomically`]: si un programa muere a mitad de una
/// escritura, [`remove_stale_temps`] los reconoce y los borra en la siguiente ejecución.
pub const TEMP_PREFIX: &str = ".gpt-desde-cero-";
/// Sufijo de esos temporales.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Un error de entrada/salida en español; si no es de los habituales, el texto del sistema.
pub fn io_detail(e: &io::Error) -> String {
    if let Some(ours) = e.get_ref().and_then(|r| r.downcast_ref::<SpanishDetail>()) {
        return ours.0.clone();
    }
    use io::ErrorKind as K;
    let what = match e.kind() {
        K::NotFound => "no existe",
        K::PermissionDenied => "no tienes permiso",
        K::AlreadyExists => "ya existe",
        K::IsADirectory => "es una carpeta, no un archivo",
        K::NotADirectory => "una parte de la ruta es un archivo, no una carpeta",
        K::DirectoryNotEmpty => "la carpeta no está vacía",
        K::StorageFull => "no queda espacio en el disco",
        K::QuotaExceeded => "se superó tu cuota de disco",
        K::ReadOnlyFilesystem => "el sistema de archivos es de solo lectura",
        K::FileTooLarge => "el archivo es demasiado grande",
        K::InvalidFilename => "el nombre del archivo no es válido",
        K::OutOfMemory => "no queda memoria",
        K::Interrupted => "se interrumpió",
        K::BrokenPipe => "se cerró la salida",
        K::TimedOut => "se agotó el tiempo de espera",
        K::UnexpectedEof => "el archivo termina antes de lo esperado",
        K::InvalidData => "los datos no son válidos",
        K::WouldBlock => "no está listo para leerse o escribirse",
        K::ConnectionRefused => "la conexión se rechazó",
        K::ConnectionReset | K::ConnectionAborted => "la conexión se cortó",
        _ => return os_error_detail(e),
    };
    what.to_string()
}

/// Los errores del sistema que la biblioteca estándar no clasifica (o clasifica con un
/// nombre aún inestable), por su número; los demás, con su código entre paréntesis.
fn os_error_detail(e: &io::Error) -> String {
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        let what = match code {
            libc::ELOOP => "hay un bucle de enlaces simbólicos en la ruta",
            libc::ENAMETOOLONG => "el nombre de la ruta es demasiado largo",
            libc::EIO => "error de lectura o escritura en el dispositivo",
            libc::EBUSY | libc::ETXTBSY => "el archivo está ocupado",
            libc::EXDEV => "está en otro sistema de archivos",
            libc::EMFILE | libc::ENFILE => "hay demasiados archivos abiertos",
            libc::ENXIO | libc::ENODEV => "el dispositivo no existe",
            libc::EINVAL => "la operación no es válida para este archivo",
            libc::EFBIG => "el archivo es demasiado grande",
            libc::ENOSPC => "no queda espacio en el disco",
            _ => return format!("error del sistema (código {code})"),
        };
        return what.to_string();
    }
    format!("error de entrada/salida ({:?})", e.kind())
}

/// Un tamaño en bytes para leerlo, con prefijos binarios (1 KiB = 1024 bytes, 1 MiB = 1024²,
/// 1 GiB = 1024³) y la norma del libro: «1,5 GiB», «820 MiB», «12 KiB».
pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    const UNITS: [(&str, f64); 4] = [
        ("TiB", KIB * KIB * KIB * KIB),
        ("GiB", KIB * KIB * KIB),
        ("MiB", KIB * KIB),
        ("KiB", KIB),
    ];
    for (unit, size) in UNITS {
        let x = n as f64 / size;
        if x >= 1.0 {
            let digits = if x < 10.0 { 1 } else { 0 };
            return format!("{} {unit}", crate::tools::pretty::decimal(x, digits));
        }
    }
    format!("{} bytes", crate::tools::pretty::integer(n))
}

/// Un ritmo de descarga para las barras: «1,5 MiB/s», con [`bytes`]; sin datos todavía (un
/// ritmo que no es finito o es negativo), «—/s».
pub fn bytes_per_second(x: f64) -> String {
    if !x.is_finite() || x < 0.0 {
        return "—/s".to_string();
    }
    format!("{}/s", bytes(x as u64))
}

/// Escribe `bytes` en `path` de forma atómica: un temporal en la misma carpeta, `fsync` y
/// renombrar. Si algo falla, `path` sigue como estaba y el temporal se borra. La carpeta se
/// crea si no existe (y se vuelve a borrar si la escritura falla). El archivo queda con los
/// permisos de cualquier archivo nuevo: 0666 menos la umask del usuario (0644 con la umask
/// habitual, 0600 con `umask 077`). Es el sistema quien aplica la umask al crear el temporal,
/// así que no hace falta leerla (leerla con `umask()` la cambia un instante, y eso no es
/// seguro con varios hilos).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // Mientras dura, [`exit_between_writes`] espera: ningún temporal queda a medias.
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = parent_dir(path);
    let created = NewDirs::create(dir)?;
    let write = || -> io::Result<()> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().inspect_err(|_| created.remove())
}

/// Las carpetas que creó [`NewDirs::create`], para borrarlas si el trabajo para el que se
/// crearon falla: un error no deja carpetas vacías detrás.
#[derive(Debug, Default)]
#[must_use = "si el trabajo falla, hay que borrar las carpetas con `remove`"]
pub struct NewDirs(Vec<PathBuf>);

impl NewDirs {
    /// Crea `dir` y las carpetas que le falten por encima, y recuerda cuáles creó. Si la
    /// creación falla a medias, borra las que llegó a crear.
    pub fn create(dir: &Path) -> io::Result<Self> {
        // Las carpetas que aún no existen, de la más profunda hacia arriba.
        let created = Self(
            dir.ancestors()
                .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
                .map(Path::to_path_buf)
                .collect(),
        );
        match std::fs::create_dir_all(dir) {
            Ok(()) => Ok(created),
            Err(e) => {
                created.remove();
                Err(e)
            }
        }
    }

    /// Borra las carpetas creadas, de la más profunda hacia arriba, si siguen vacías.
    pub fn remove(&self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir(d); // solo borra carpetas vacías
        }
    }
}

/// Lo tiene quien está en [`write_atomically`].
static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Termina el programa con `code` en cuanto no haya ninguna escritura en curso (si la hay,
/// espera a que acabe): lo usa el segundo Ctrl-C, que corta enseguida pero sin dejar
/// temporales ni archivos a medias.
pub fn exit_between_writes(code: i32) -> ! {
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    std::process::exit(code)
}

/// La carpeta de un archivo (`.` si la ruta no tiene carpeta).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Comprueba, sin abrirlo, que `path` es un archivo normal (o un enlace a uno) antes de
/// leerlo: una tubería con nombre (FIFO) sin escritor dejaría el programa esperando en
/// silencio, y un dispositivo como `/dev/zero` no se acaba nunca. El error, en español, sirve
/// de causa de un error de lectura (con [`io_detail`]).
pub fn check_regular_file(path: &Path) -> io::Result<()> {
    // `metadata` sigue los enlaces simbólicos y nunca se bloquea, ni ante un FIFO.
    let file_type = std::fs::metadata(path)?.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    if file_type.is_dir() {
        return Err(io::Error::from(io::ErrorKind::IsADirectory));
    }
    let what = special_file_kind(&file_type);
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        SpanishDetail(format!(
            "no es un archivo normal, sino {what}; indica un archivo normal"
        )),
    ))
}

/// La causa de un error de entrada/salida nuestro, ya en español: [`io_detail`] la muestra
/// tal cual.
#[derive(Debug)]
struct SpanishDetail(String);

impl std::fmt::Display for SpanishDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpanishDetail {}

/// Qué clase de archivo especial es, en español.
#[cfg(unix)]
fn special_file_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_fifo() {
        "una tubería con nombre (FIFO)"
    } else if file_type.is_char_device() {
        "un dispositivo de caracteres (character device)"
    } else if file_type.is_block_device() {
        "un dispositivo de bloques (block device)"
    } else if file_type.is_socket() {
        "un socket de red local (Unix socket)"
    } else {
        "un archivo especial"
    }
}

#[cfg(not(unix))]
fn special_file_kind(_file_type: &std::fs::FileType) -> &'static str {
    "un archivo especial"
}

/// Borra los temporales de [`write_atomically`] que dejó en `dir` un programa que murió a
/// mitad de una escritura (un `kill -9`, un apagón). Devuelve cuántos bytes liberó.
pub fn remove_stale_temps(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut freed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if std::fs::remove_file(entry.path()).is_ok() {
                freed += len;
            }
        }
    }
    freed
}

/// Un recurso que no alcanza, o una carpeta de salida que no sirve.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error(
        "{what} necesita unos {} de memoria y solo hay {} disponibles; prueba con valores más pequeños",
        bytes(*needed), bytes(*available)
    )]
    Memory {
        what: String,
        needed: u64,
        available: u64,
    },
    #[error(
        "{what} necesita unos {} en el disco de «{}» y solo quedan {}; libera espacio o usa otra carpeta",
        bytes(*needed), dir.display(), bytes(*available)
    )]
    Disk {
        what: String,
        dir: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error("{what} necesita más de 2⁶⁴ bytes de memoria: revisa los tamaños")]
    Overflow { what: String },
    #[error("no se puede usar «{}» como carpeta de salida: {detail}", dir.display())]
    OutputDir { dir: PathBuf, detail: String },
}

/// La memoria disponible en este momento, si el sistema la dice (Linux: `MemAvailable`), o
/// menos si el proceso tiene un límite de memoria virtual (`ulimit -v`) más cercano.
pub fn available_memory() -> Option<u64> {
    let free = (|| {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    })();
    match (free, address_space_left()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Lo que le queda al proceso hasta su límite de memoria virtual (`RLIMIT_AS`), si tiene uno.
#[cfg(target_os = "linux")]
fn address_space_left() -> Option<u64> {
    let mut limit = std::mem::MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: `getrlimit` rellena la estructura si devuelve 0; solo entonces la leemos.
    let limit = unsafe {
        if libc::getrlimit(libc::RLIMIT_AS, limit.as_mut_ptr()) != 0 {
            return None;
        }
        limit.assume_init()
    };
    if limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmSize:"))?;
    let used_kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((limit.rlim_cur as u64).saturating_sub(used_kb * 1024))
}

#[cfg(not(target_os = "linux"))]
fn address_space_left() -> Option<u64> {
    None
}

/// Comprueba que `needed` bytes (o `None` si la cuenta se desborda) caben en la memoria
/// disponible. Donde el sistema no la dice, solo se rechaza lo imposible.
pub fn check_memory(what: &str, needed: Option<u64>) -> Result<(), ResourceError> {
    let Some(needed) = needed else {
        return Err(ResourceError::Overflow {
            what: what.to_string(),
        });
    };
    match available_memory() {
        Some(available) if needed > available => Err(ResourceError::Memory {
            what: what.to_string(),
            needed,
            available,
        }),
        _ => Ok(()),
    }
}

/// El espacio libre del disco donde está `dir` (o su primera carpeta existente hacia arriba).
pub fn available_disk(dir: &Path) -> Option<u64> {
    let existing = dir
        .ancestors()
        .find(|d| d.is_dir())
        .unwrap_or(Path::new("."));
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    free_space(existing)
}

#[cfg(unix)]
fn free_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` es una cadena C válida y `stat` tiene el tamaño de `statvfs`; solo
    // leemos `stat` si la llamada dice que lo rellenó.
    let stat = unsafe {
        if libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_space(_dir: &Path) -> Option<u64> {
    None
}

/// Comprueba que en el disco de `dir` caben `needed` bytes más.
pub fn check_disk(what: &str, dir: &Path, needed: u64) -> Result<(), ResourceError> {
    match available_disk(dir) {
        Some(available) if needed > available => Err(ResourceError::Disk {
            what: what.to_string(),
            dir: dir.to_path_buf(),
            needed,
            available,
        }),
        _ => Ok(()),
    }
}

/// Crea la carpeta de salida si no existe y comprueba que se puede escribir en ella, antes
/// de cualquier trabajo largo: así un nombre equivocado no cuesta un entrenamiento.
pub fn prepare_output_dir(dir: &Path) -> Result<(), ResourceError> {
    let fail = |detail: String| ResourceError::OutputDir {
        dir: dir.to_path_buf(),
        detail,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(fail("es un archivo, no una carpeta".to_string()));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(io_detail(&e)))?;
    // La única forma segura de saber si se puede escribir: probarlo.
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| fail(io_detail(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_spanish() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1023), "1023 bytes");
        assert_eq!(bytes(1536), "1,5 KiB");
        assert_eq!(bytes(820 << 20), "820 MiB");
        assert_eq!(bytes(1_000_000_000), "954 MiB");
        assert_eq!(bytes(3 << 29), "1,5 GiB");
        assert_eq!(bytes(3 << 39), "1,5 TiB");
        assert_eq!(bytes_per_second(1_572_864.0), "1,5 MiB/s");
        assert_eq!(bytes_per_second(f64::NAN), "—/s");
    }

    #[test]
    fn atomic_writes_leave_the_old_file_or_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b.txt");
        write_atomically(&path, b"uno").unwrap();
        write_atomically(&path, b"dos").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"dos");
        #[cfg(unix)]
        {
            // Los permisos de cualquier archivo nuevo: 0666 menos la umask (no 0600, como el
            // temporal, ni 0644 fijos).
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            let normal = dir.path().join("normal.txt");
            std::fs::write(&normal, b"x").unwrap();
            assert_eq!(mode(&path), mode(&normal), "permisos {:o}", mode(&path));
            std::fs::remove_file(&normal).unwrap();
        }
        // Sobre una carpeta no se puede: el error llega y no queda ningún temporal.
        let err = write_atomically(dir.path(), b"x").unwrap_err();
        assert!(!io_detail(&err).is_empty());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "solo la carpeta «a»");
    }

    #[test]
    fn a_failed_write_removes_the_dirs_it_created_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ya")).unwrap();
        // Un nombre con un byte NUL: la carpeta se crea y el último paso falla.
        let path = dir.path().join("ya").join("nueva").join("mas").join("a\0b");
        write_atomically(&path, b"x").unwrap_err();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "solo la carpeta «ya», que existía");
        assert_eq!(std::fs::read_dir(dir.path().join("ya")).unwrap().count(), 0);
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("texto.txt");
        std::fs::write(&file, b"hola").unwrap();
        check_regular_file(&file).unwrap();
        let err = check_regular_file(dir.path()).unwrap_err();
        assert_eq!(io_detail(&err), "es una carpeta, no un archivo");
        let err = check_regular_file(&dir.path().join("no-existe")).unwrap_err();
        assert_eq!(io_detail(&err), "no existe");
        #[cfg(unix)]
        {
            // Un enlace a un archivo normal vale; un dispositivo o un FIFO, no (y sin esperar
            // a un escritor que no llega nunca).
            let link = dir.path().join("enlace");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            check_regular_file(&link).unwrap();
            let err = check_regular_file(Path::new("/dev/zero")).unwrap_err();
            assert!(
                io_detail(&err).contains("dispositivo de caracteres"),
                "{err}"
            );
            let fifo = dir.path().join("fifo");
            let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: `c_path` es una cadena C válida.
            assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
            let err = check_regular_file(&fifo).unwrap_err();
            assert!(
                io_detail(&err).contains("tubería con nombre (FIFO)"),
                "{err}"
            );
        }
    }

    #[test]
    fn stale_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(format!("{TEMP_PREFIX}abc{TEMP_SUFFIX}"));
        std::fs::write(&stale, [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("gpt.safetensors"), b"modelo").unwrap();
        assert_eq!(remove_stale_temps(dir.path()), 100);
        assert!(!stale.exists());
        assert!(dir.path().join("gpt.safetensors").exists());
    }

    #[test]
    fn impossible_sizes_are_refused() {
        let err = check_memory("el modelo", None).unwrap_err();
        assert!(err.to_string().contains("2⁶⁴"), "{err}");
        if available_memory().is_some() {
            let err = check_memory("el modelo", Some(u64::MAX / 2)).unwrap_err();
            assert!(err.to_string().contains("de memoria y solo hay"), "{err}");
        }
        assert!(check_memory("el modelo", Some(1)).is_ok());
    }

    #[test]
    fn an_output_dir_that_is_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("salidas");
        std::fs::write(&file, b"no soy carpeta").unwrap();
        let err = prepare_output_dir(&file).unwrap_err();
        assert!(err.to_string().contains("es un archivo"), "{err}");
        let ok = dir.path().join("nueva").join("carpeta");
        prepare_output_dir(&ok).unwrap();
        assert!(ok.is_dir());
        assert_eq!(std::fs::read_dir(&ok).unwrap().count(), 0, "sin restos");
    }
}
