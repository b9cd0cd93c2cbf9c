//! Nada se pierde: los programas usados como los usa alguien de verdad (números absurdos,
//! carpetas equivocadas, Ctrl-C, un disco lleno, un modelo ya entrenado en la carpeta).
//! Cada caso termina con un código distinto de cero, un mensaje en español que dice qué
//! hacer, ningún pánico y ningún trabajo perdido.

mod comun;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use comun::{assert_falla, real_corpus};
use gpt_desde_cero::tools::checkpoint;
use gpt_desde_cero::tools::resources::{TEMP_PREFIX, TEMP_SUFFIX};

const LOTES: &str = env!("CARGO_BIN_EXE_04_lotes");
const BIGRAM: &str = env!("CARGO_BIN_EXE_05_bigram");
const ATENCION: &str = env!("CARGO_BIN_EXE_06_autoatencion");
const GPT: &str = env!("CARGO_BIN_EXE_07_gpt");

/// Ejecuta un programa sobre el corpus real (ya en la caché).
fn run(bin: &str, args: &[&str]) -> Output {
    real_corpus();
    Command::new(bin)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("no se pudo ejecutar el programa")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "falló:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Un entrenamiento diminuto y corto del GPT en `dir`, con argumentos extra.
fn entrenar(dir: &Path, extra: &[&str]) -> Output {
    let salidas = dir.to_str().unwrap();
    let pasos: &[&str] = if extra.contains(&"--pasos") {
        &[]
    } else {
        &["--pasos", "6"]
    };
    let mut args = vec!["entrenar", "--preset", "diminuto"];
    args.extend_from_slice(pasos);
    args.extend_from_slice(&[
        "--eval-cada",
        "3",
        "--eval-lotes",
        "1",
        "--salidas",
        salidas,
    ]);
    args.extend_from_slice(extra);
    run(GPT, &args)
}

fn temporales(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(TEMP_PREFIX) || n.ends_with(".tmp")
        })
        .collect()
}

#[test]
fn un_entrenamiento_nuevo_no_borra_un_modelo_entrenado() {
    let dir = tempfile::tempdir().unwrap();
    ok(&entrenar(dir.path(), &[]));
    let last = dir.path().join("gpt.safetensors");
    let best = dir.path().join("gpt-mejor.safetensors");
    let antes = (std::fs::read(&last).unwrap(), std::fs::read(&best).unwrap());

    let out = entrenar(dir.path(), &[]);
    assert_falla(
        &out,
        1,
        &[
            "ya tiene un modelo entrenado",
            "--reanudar",
            "--sobrescribir",
        ],
    );
    let despues = (std::fs::read(&last).unwrap(), std::fs::read(&best).unwrap());
    assert!(antes == despues, "los checkpoints cambiaron");

    // Pedido explícitamente, sí se reemplaza; y reanudar sigue funcionando.
    ok(&entrenar(dir.path(), &["--sobrescribir"]));
    ok(&entrenar(dir.path(), &["--reanudar", "--pasos", "8"]));
    let out = entrenar(dir.path(), &["--reanudar", "--sobrescribir"]);
    assert_falla(&out, 2, &["no se puede usar junto con"]);
}

#[test]
fn reanudar_sin_checkpoint_lo_explica() {
    let dir = tempfile::tempdir().unwrap();
    let out = entrenar(dir.path(), &["--reanudar"]);
    assert_falla(&out, 1, &["no hay nada que reanudar", "gpt.safetensors"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("os error"));
}

#[test]
fn tamanos_absurdos_se_rechazan_con_la_cifra() {
    let dir = tempfile::tempdir().unwrap();
    let inicio = Instant::now();
    for extra in [
        &["--embd", "1000000"][..],
        &["--lote", "18446744073709551615"],
        &["--capas", "1000000"],
    ] {
        let out = entrenar(dir.path(), extra);
        assert_falla(&out, 1, &["memoria"]);
    }
    let out = run(LOTES, &["--lote", "100000000000"]);
    assert_falla(&out, 1, &["un lote de ese tamaño necesita", "de memoria"]);
    let out = run(BIGRAM, &["--lote", "100000000000", "--bloque", "1000"]);
    assert_falla(&out, 1, &["memoria"]);
    let out = run(GPT, &["generar", "--tokens", "18446744073709551615"]);
    assert_falla(&out, 1, &["generar tantos caracteres", "memoria"]);
    // Nada de minutos en silencio: se rechaza antes de reservar nada.
    assert!(
        inicio.elapsed() < Duration::from_secs(60),
        "{:?}",
        inicio.elapsed()
    );
    assert!(temporales(dir.path()).is_empty());
}

#[test]
fn un_disco_lleno_en_la_salida_no_es_un_panico() {
    if !Path::new("/dev/full").exists() {
        panic!("esta prueba necesita /dev/full (Linux)");
    }
    real_corpus();
    for (bin, args) in [(LOTES, &[][..]), (BIGRAM, &["--pasos", "10"][..])] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(bin)
            .args(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_falla(
            &out,
            1,
            &["no se pudo escribir la salida", "no queda espacio"],
        );
    }
}

#[test]
fn max_minutos_se_valida() {
    let dir = tempfile::tempdir().unwrap();
    for m in ["inf", "1e30", "-1", "NaN"] {
        let out = entrenar(dir.path(), &["--max-minutos", m]);
        assert_falla(&out, 1, &["--max-minutos"]);
    }
    assert!(!dir.path().join("gpt.safetensors").exists());
}

#[test]
fn una_perdida_que_diverge_no_termina_con_exito() {
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().join("s");
    let s = salidas.to_str().unwrap();
    let out = run(BIGRAM, &["--lr", "1e30", "--pasos", "300", "--salidas", s]);
    assert_falla(&out, 1, &["número finito", "--lr"]);
    assert!(
        !salidas.join("bigram_ndarray.csv").exists(),
        "curva NaN escrita"
    );
    let args = [
        "--lr",
        "1e30",
        "--pasos",
        "60",
        "--eval-cada",
        "30",
        "--eval-lotes",
        "2",
        "--salidas",
        s,
    ];
    assert_falla(&run(ATENCION, &args), 1, &["número finito"]);
    assert!(!salidas.join("atencion.svg").exists());
    // Cero lotes de evaluación no es una estimación: se rechaza antes de entrenar.
    let out = run(GPT, &["escalera", "--eval-lotes", "0"]);
    assert_falla(&out, 1, &["--eval-lotes debe ser al menos 1"]);
    let out = run(BIGRAM, &["--eval-lotes", "0"]);
    assert_falla(&out, 1, &["--eval-lotes debe ser al menos 1"]);
}

#[test]
fn la_carpeta_de_salida_se_comprueba_antes_de_entrenar() {
    let dir = tempfile::tempdir().unwrap();
    let archivo = dir.path().join("no-soy-carpeta");
    std::fs::write(&archivo, "hola").unwrap();
    let a = archivo.to_str().unwrap();
    let inicio = Instant::now();
    // Con tantos pasos, fallar después de entrenar tardaría horas.
    let out = run(BIGRAM, &["--pasos", "100000000", "--salidas", a]);
    assert_falla(
        &out,
        1,
        &["no-soy-carpeta", "es un archivo, no una carpeta"],
    );
    let out = run(ATENCION, &["--pasos", "100000000", "--salidas", a]);
    assert_falla(&out, 1, &["es un archivo, no una carpeta"]);
    let out = entrenar(&archivo, &["--pasos", "100000000"]);
    assert_falla(&out, 1, &["es un archivo, no una carpeta"]);
    assert!(inicio.elapsed() < Duration::from_secs(60));
    assert_eq!(std::fs::read_to_string(&archivo).unwrap(), "hola");
}

#[test]
fn los_temporales_de_una_escritura_cortada_se_borran() {
    let dir = tempfile::tempdir().unwrap();
    let resto = dir.path().join(format!("{TEMP_PREFIX}kill9{TEMP_SUFFIX}"));
    std::fs::write(&resto, vec![0u8; 4096]).unwrap();
    let out = entrenar(dir.path(), &[]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("temporales"));
    assert!(temporales(dir.path()).is_empty());
}

/// Lanza un entrenamiento largo, espera a su primer checkpoint y le manda `senales` SIGINT.
#[cfg(unix)]
fn interrumpir(senales: usize) -> (Output, tempfile::TempDir) {
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(GPT)
        .args(["entrenar", "--preset", "diminuto", "--pasos", "1000000"])
        .args(["--eval-cada", "20", "--eval-lotes", "1", "--salidas"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let last = dir.path().join("gpt.safetensors");
    let limite = Instant::now() + Duration::from_secs(120);
    while !last.exists() {
        assert!(Instant::now() < limite, "el entrenamiento no guardó nada");
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..senales {
        // SAFETY: mandar una señal a un proceso hijo nuestro que sigue vivo.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        std::thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().unwrap(), dir)
}

#[cfg(unix)]
#[test]
fn dos_ctrl_c_cortan_sin_dejar_temporales() {
    // Un Ctrl-C lo prueba tests/gpt.rs; dos seguidos cortan enseguida, pero nunca a mitad
    // de una escritura: esperan a que termine el checkpoint en curso.
    let (out, dir) = interrumpir(2);
    assert_eq!(out.status.code(), Some(130));
    assert!(
        temporales(dir.path()).is_empty(),
        "{:?}",
        temporales(dir.path())
    );
    checkpoint::load(
        &dir.path().join("gpt.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("el checkpoint se lee entero");
}

#[test]
fn un_corpus_sin_saltos_de_linea_funciona() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("una_linea.txt");
    std::fs::write(
        &corpus,
        "En un lugar de la Mancha, de cuyo nombre no quiero acordarme. ".repeat(200),
    )
    .unwrap();
    let c = corpus.to_str().unwrap();
    let salidas = dir.path().join("s");
    let s = salidas.to_str().unwrap();
    ok(&run(
        BIGRAM,
        &["--corpus", c, "--pasos", "50", "--salidas", s],
    ));
    ok(&run(
        GPT,
        &[
            "entrenar",
            "--corpus",
            c,
            "--preset",
            "diminuto",
            "--pasos",
            "4",
            "--eval-cada",
            "2",
            "--eval-lotes",
            "1",
            "--salidas",
            s,
        ],
    ));
    let modelo = salidas.join("gpt-mejor.safetensors");
    let out = run(
        GPT,
        &[
            "generar",
            "--checkpoint",
            modelo.to_str().unwrap(),
            "--tokens",
            "20",
        ],
    );
    let texto = ok(&out);
    assert!(texto.chars().count() >= 20, "{texto:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tiene salto de línea"));
}

#[test]
fn codigos_de_salida_y_mensajes() {
    let dir = tempfile::tempdir().unwrap();
    let corto = dir.path().join("corto.txt");
    std::fs::write(&corto, "abc").unwrap();
    assert_falla(
        &run(LOTES, &["--corpus", corto.to_str().unwrap()]),
        1,
        &["corto.txt"],
    );

    // Un número negativo es un valor (y se explica por qué no vale), no una bandera.
    assert_falla(
        &run(BIGRAM, &["--lr", "-0.1"]),
        1,
        &["--lr debe ser un número positivo"],
    );
    let out = entrenar(dir.path(), &["--lr", "-0.1"]);
    assert_falla(&out, 1, &["la tasa de aprendizaje debe ser positiva"]);

    // Un error de valor en una orden muestra el uso de esa orden.
    let out = run(GPT, &["entrenar", "--pasos", "muchos"]);
    assert_falla(
        &out,
        2,
        &["Uso: 07_gpt entrenar [OPCIONES]", "no es un número entero"],
    );

    // Lo que cambió de nombre lo dice.
    let out = run(ATENCION, &["--intervalo-eval", "5"]);
    assert_falla(&out, 2, &["ahora se llama «--eval-cada»"]);
    let out = run(GPT, &["entrenar", "--preset", "semilla"]);
    assert_falla(&out, 2, &["el preset «semilla» ahora se llama «cuaderno»"]);
}

// --- descarga y archivos ---

/// Ejecuta `cmd` con un plazo: si no termina a tiempo (se quedó colgado, leyendo un FIFO o
/// /dev/zero), lo mata y la prueba falla en vez de colgarse con él.
fn con_plazo(mut cmd: Command, plazo: Duration) -> Output {
    let mut child = cmd
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("no se pudo ejecutar el programa");
    let inicio = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if inicio.elapsed() > plazo {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} seguía sin terminar a los {} s:\n{}",
                plazo.as_secs(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Un FIFO (tubería con nombre) en `dir`, en el que nadie escribe.
#[cfg(unix)]
fn fifo(dir: &Path, nombre: &str) -> PathBuf {
    let ruta = dir.join(nombre);
    let c = std::ffi::CString::new(ruta.to_str().unwrap()).unwrap();
    // SAFETY: `c` es una cadena C válida.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    ruta
}

#[cfg(unix)]
#[test]
fn un_corpus_que_no_es_un_archivo_normal_se_rechaza_sin_leerlo() {
    let dir = tempfile::tempdir().unwrap();
    let tuberia = fifo(dir.path(), "corpus.txt");
    let casos = [
        (tuberia.to_str().unwrap(), "tubería con nombre (FIFO)"),
        ("/dev/zero", "dispositivo de caracteres"),
    ];
    for (ruta, dice) in casos {
        let salidas = dir.path().join("salidas");
        let salidas = salidas.to_str().unwrap();
        let programas: [(&str, &[&str]); 2] = [
            (LOTES, &["--corpus", ruta]),
            (
                GPT,
                &[
                    "entrenar",
                    "--preset",
                    "diminuto",
                    "--salidas",
                    salidas,
                    "--corpus",
                    ruta,
                ],
            ),
        ];
        for (bin, args) in programas {
            let mut cmd = Command::new(bin);
            cmd.args(args);
            let out = con_plazo(cmd, Duration::from_secs(30));
            assert_falla(
                &out,
                1,
                &[
                    "no se pudo leer el corpus",
                    ruta,
                    "no es un archivo normal",
                    dice,
                ],
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn un_checkpoint_que_no_es_un_archivo_normal_se_rechaza_sin_leerlo() {
    let dir = tempfile::tempdir().unwrap();
    let tuberia = fifo(dir.path(), "gpt.safetensors");
    let casos = [
        (tuberia.to_str().unwrap(), "tubería con nombre (FIFO)"),
        ("/dev/zero", "dispositivo de caracteres"),
    ];
    for (ruta, dice) in casos {
        let mut cmd = Command::new(GPT);
        cmd.args(["generar", "--checkpoint", ruta]);
        let out = con_plazo(cmd, Duration::from_secs(30));
        assert_falla(
            &out,
            1,
            &[
                "no se pudo leer el checkpoint",
                ruta,
                "no es un archivo normal",
                dice,
            ],
        );
    }
}

#[cfg(unix)]
#[test]
fn los_checkpoints_respetan_la_umask() {
    // Con `umask 077`, nadie más que su dueño debe poder leer lo que escribe un programa.
    use std::os::unix::fs::PermissionsExt as _;
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().join("salidas");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "umask 077; exec \"$0\" \"$@\""])
        .arg(GPT)
        .args(["entrenar", "--preset", "diminuto", "--pasos", "2"])
        .args(["--eval-cada", "1", "--eval-lotes", "1", "--salidas"])
        .arg(&salidas);
    let out = con_plazo(cmd, Duration::from_secs(300));
    ok(&out);
    let archivos: Vec<PathBuf> = std::fs::read_dir(&salidas)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    assert!(
        archivos.iter().any(|p| p.ends_with("gpt.safetensors")),
        "{archivos:?}"
    );
    for archivo in archivos {
        let modo = std::fs::metadata(&archivo).unwrap().permissions().mode() & 0o777;
        assert_eq!(modo, 0o600, "{}: permisos {modo:o}", archivo.display());
    }
}
