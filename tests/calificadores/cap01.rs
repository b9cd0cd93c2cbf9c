//! Calificadores del capítulo 01.

use super::*;

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap01::count_chars",
            title: "Ejercicio 1.1 — Contar caracteres",
            file: "ejercicios/cap01_datos.rs",
            hint: "`text.len()` cuenta bytes; `text.chars()` recorre caracteres.",
            grade: || {
                check("\"año\"", graded::cap01::count_chars("año"), 3)?;
                many(300, 11, |r| {
                    let t = random_text(r, 60);
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
            hint: "`text.char_indices().nth(n)` da el byte donde empieza el carácter n.",
            grade: || {
                check(
                    "(\"año nuevo\", 3)",
                    graded::cap01::first_chars("año nuevo", 3),
                    "año",
                )?;
                many(300, 12, |r| {
                    let t = random_text(r, 40);
                    let n = r.random_range(0..50);
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
