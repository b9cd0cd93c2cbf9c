//! Mapas de calor de una matriz de atención: en la terminal (ASCII) y en SVG (plotters).
//!
//! Fila `i`: el token que pregunta (la consulta); columna `j`: el token al que mira (la
//! clave). Cada celda es el peso que la fila `i` da a la columna `j`; cada fila suma 1.

use std::path::Path;

use anyhow::Context as _;
use ndarray::ArrayView2;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Cómo se escribe un carácter como etiqueta: el espacio y el salto de línea se hacen visibles.
pub fn label(c: char) -> String {
    match c {
        ' ' => "␣".to_string(),
        '\n' => "↵".to_string(),
        '\t' => "⇥".to_string(),
        _ => c.to_string(),
    }
}

/// Los símbolos del mapa ASCII, de menos a más peso.
const RAMP: [char; 9] = ['.', ':', '-', '=', '+', '*', '#', '%', '@'];

// ANCHOR: ascii
/// El mapa de calor en texto: un espacio donde el peso es exactamente cero (el futuro, que
/// la máscara prohíbe) y, si no, un símbolo de `. : - = + * # % @` según el peso, en nueve
/// tramos iguales de 0 a 1.
pub fn ascii(weights: ArrayView2<f32>, labels: &[char]) -> String {
    assert_eq!(
        weights.dim(),
        (labels.len(), labels.len()),
        "una etiqueta por fila y columna"
    );
    let mut out = String::from("   ");
    for &c in labels {
        out.push_str(&label(c));
        out.push(' ');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    for (row, &c) in weights.rows().into_iter().zip(labels) {
        out.push_str(&format!("{} |", label(c)));
        let cells: Vec<String> = row.iter().map(|&w| symbol(w).to_string()).collect();
        out.push_str(cells.join(" ").trim_end());
        out.push('\n');
    }
    out
}
// ANCHOR_END: ascii

fn symbol(w: f32) -> char {
    if w <= 0.0 {
        ' '
    } else {
        let level = (w * RAMP.len() as f32).ceil() as usize;
        RAMP[level.clamp(1, RAMP.len()) - 1]
    }
}

/// Del blanco (peso 0) al azul oscuro (peso 1).
fn color(w: f32) -> RGBColor {
    let w = w.clamp(0.0, 1.0);
    let mix = |from: f32, to: f32| (from + (to - from) * w).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0))
}

/// Dibuja el mapa de calor en un SVG: una celda por par (consulta, clave), las etiquetas con
/// los caracteres y una barra con la escala de color. Crea la carpeta si no existe.
pub fn svg(
    path: &Path,
    weights: ArrayView2<f32>,
    labels: &[char],
    title: &str,
) -> anyhow::Result<()> {
    assert_eq!(
        weights.dim(),
        (labels.len(), labels.len()),
        "una etiqueta por fila y columna"
    );
    let n = labels.len() as i32;
    let cell = 22;
    let (left, top) = (90, 90);
    let legend = 80;
    let width = (left + n * cell + legend) as u32;
    let height = (top + n * cell + 50) as u32;
    let drawing = draw((width, height), |root| {
        root.fill(&WHITE)?;
        let centered = |size| {
            TextStyle::from(("sans-serif", size).into_font())
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        root.draw(&Text::new(
            title.to_string(),
            ((width / 2) as i32, 22),
            centered(22),
        ))?;
        root.draw(&Text::new(
            "clave (a qué posición se mira) →".to_string(),
            (left + n * cell / 2, 50),
            centered(17),
        ))?;
        root.draw(&Text::new(
            "consulta ↓".to_string(),
            (left - 45, top - 14),
            centered(17),
        ))?;
        for (i, &c) in labels.iter().enumerate() {
            let i = i as i32;
            let text = label(c);
            root.draw(&Text::new(
                text.clone(),
                (left + i * cell + cell / 2, top - 12),
                centered(17),
            ))?;
            root.draw(&Text::new(
                text,
                (left - 12, top + i * cell + cell / 2),
                centered(17),
            ))?;
        }
        for ((i, j), &w) in weights.indexed_iter() {
            let (x, y) = (left + j as i32 * cell, top + i as i32 * cell);
            let fill = if j > i {
                RGBColor(235, 235, 235)
            } else {
                color(w)
            };
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                fill.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                WHITE.stroke_width(1),
            ))?;
        }
        // La escala: de 1 (arriba) a 0 (abajo).
        let (lx, steps) = (left + n * cell + 25, 50);
        let bar_h = n * cell;
        for s in 0..steps {
            let y0 = top + bar_h * s / steps;
            let y1 = top + bar_h * (s + 1) / steps;
            let w = 1.0 - (s as f32 + 0.5) / steps as f32;
            root.draw(&Rectangle::new(
                [(lx, y0), (lx + 15, y1)],
                color(w).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(lx, top), (lx + 15, top + bar_h)],
            BLACK.stroke_width(1),
        ))?;
        let left_aligned =
            TextStyle::from(("sans-serif", 17).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(
            "1".to_string(),
            (lx + 20, top),
            left_aligned.clone(),
        ))?;
        root.draw(&Text::new(
            "0".to_string(),
            (lx + 20, top + bar_h),
            left_aligned,
        ))?;
        root.draw(&Text::new(
            "gris: el futuro, prohibido por la máscara".to_string(),
            (left + n * cell / 2, top + n * cell + 25),
            centered(17),
        ))?;
        Ok(())
    })
    .with_context(|| format!("no se pudo dibujar la figura «{}»", path.display()))?;
    // Entera o nada (y la carpeta se crea si hace falta).
    crate::tools::resources::write_atomically(path, drawing.as_bytes()).map_err(|e| {
        anyhow::anyhow!(
            "no se pudo escribir la figura «{}»: {}",
            path.display(),
            crate::tools::resources::io_detail(&e)
        )
    })
}

type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Dibuja en memoria y devuelve el texto SVG.
fn draw(
    size: (u32, u32),
    paint: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> DrawResult,
) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        paint(&root).map_err(|e| anyhow::anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ascii_shows_the_mask_and_the_ramp() {
        let w = array![[1.0f32, 0.0], [0.3, 0.7]];
        assert_eq!(ascii(w.view(), &['a', ' ']), "   a ␣\na |@\n␣ |- #\n");
    }

    #[test]
    fn svg_is_written_with_the_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/mapa.svg");
        let w = array![[1.0f32, 0.0], [0.5, 0.5]];
        svg(&path, w.view(), &['E', ' '], "prueba").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..50]);
        let texts: Vec<&str> = text.lines().map(str::trim).collect();
        assert!(texts.contains(&"E") && texts.contains(&"␣") && texts.contains(&"prueba"));
        // Una celda por par (consulta, clave), más el fondo y la escala.
        assert!(text.matches("<rect").count() > 2 * 4);
    }
}
