//! Calificadores del capítulo 01.

use super::*;

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap01::count_chars",
            title: "Ejercicio 1.1 — Contar caracteres",
            file: "ejercicios/cap01_datos.rs",
            hint: "`text.len()` cuenta bytes; `text.chars()` recorre caracteres.",
            more_hints: &[
                "`text.chars()` es un iterador de los caracteres; los iteradores saben contarse con `.count()`.",
                "una sola expresión: recorre los caracteres y cuéntalos; nada de `len()`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                let input = "\"año\"";
                let got = with_input(input, || graded::cap01::count_chars("año"));
                check(input, got, 3)?;
                shrinking(11, 300, text_strategy(60), |t| {
                    check(
                        &short(&t),
                        graded::cap01::count_chars(&t),
                        t.chars().count(),
                    )
                })
            },
        },
        Exercise {
            id: "cap01::first_chars",
            title: "Ejercicio 1.2 — Los primeros caracteres",
            file: "ejercicios/cap01_datos.rs",
            hint: "cortar un `&str` pide posiciones en bytes: busca en qué byte empieza el carácter número n (y qué pasa si el texto tiene menos). Hay un iterador que da cada carácter junto con su byte de inicio.",
            more_hints: &[
                "`text.char_indices()` da `(byte de inicio, carácter)`; `.nth(n)` salta al carácter número n (o da `None` si no hay tantos).",
                "el byte de inicio del carácter n, o `text.len()` si el texto es más corto (`unwrap_or`), es el final del trozo: `&text[..fin]`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                let input = "(\"año nuevo\", 3)";
                let got = with_input(input, || graded::cap01::first_chars("año nuevo", 3));
                check(input, got, "año")?;
                shrinking(12, 300, (text_strategy(40), 0..50usize), |(t, n)| {
                    check(
                        &format!("({}, {n})", short(&t)),
                        graded::cap01::first_chars(&t, n),
                        corpus::prefix_chars(&t, n),
                    )
                })
            },
        },
    ]
}
