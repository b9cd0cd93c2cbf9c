//! Propiedades del tokenizador de caracteres, con textos arbitrarios (también con caracteres
//! de varios bytes y marcas combinantes).

use gpt_desde_cero::text::tokenizer::{Tokenizer, TokenizerError};
use proptest::prelude::*;
use proptest::sample::Index;

/// Un carácter cualquiera, con más probabilidad para los «difíciles»: letras con tilde, eñes,
/// tildes combinantes sueltas, emojis (4 bytes) y saltos de línea.
fn caracter() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        2 => prop::sample::select("aáeéiíoóuúüñÑ¿¡«»—“” \n\t".chars().collect::<Vec<_>>()),
        1 => prop::char::range('\u{0300}', '\u{036F}'),
        1 => prop::char::range('\u{1F600}', '\u{1F64F}'),
    ]
}

/// El texto del que sale el vocabulario (nunca vacío).
fn texto() -> impl Strategy<Value = String> {
    prop::collection::vec(caracter(), 1..60).prop_map(|cs| cs.into_iter().collect())
}

/// Un vocabulario y un texto escrito solo con sus caracteres.
fn vocabulario_y_texto() -> impl Strategy<Value = (String, String)> {
    texto().prop_flat_map(|fuente| {
        let chars: Vec<char> = fuente.chars().collect();
        let s = prop::collection::vec(prop::sample::select(chars), 0..100)
            .prop_map(|cs| cs.into_iter().collect::<String>());
        (Just(fuente), s)
    })
}

proptest! {
    #[test]
    fn decode_de_encode_es_la_identidad((fuente, s) in vocabulario_y_texto()) {
        let tok = Tokenizer::from_text(&fuente);
        let ids = tok.encode(&s).unwrap();
        prop_assert_eq!(ids.len(), s.chars().count());
        prop_assert!(ids.iter().all(|&id| (id as usize) < tok.vocab_size()));
        prop_assert_eq!(tok.decode(&ids).unwrap(), s);
    }

    #[test]
    fn el_vocabulario_esta_ordenado_y_sin_repetidos(fuente in texto()) {
        let tok = Tokenizer::from_text(&fuente);
        prop_assert!(tok.chars().windows(2).all(|w| w[0] < w[1]));
        prop_assert!(fuente.chars().all(|c| tok.chars().contains(&c)));
        prop_assert_eq!(tok.vocabulary().chars().count(), tok.vocab_size());
        // Reconstruido desde su vocabulario, es el mismo tokenizador.
        prop_assert_eq!(Tokenizer::from_chars(tok.chars().to_vec()).unwrap(), tok);
    }

    #[test]
    fn un_caracter_desconocido_se_nombra_con_su_posicion(
        (fuente, s) in vocabulario_y_texto(),
        extra in caracter(),
        donde in any::<Index>(),
    ) {
        let tok = Tokenizer::from_text(&fuente);
        prop_assume!(!tok.chars().contains(&extra));
        let mut chars: Vec<char> = s.chars().collect();
        let position = donde.index(chars.len() + 1);
        chars.insert(position, extra);
        let con_extra: String = chars.into_iter().collect();

        let err = tok.encode(&con_extra).unwrap_err();
        prop_assert_eq!(&err, &TokenizerError::UnknownChar { ch: extra, position });
        let msg = err.to_string();
        let codigo = format!("(U+{:04X})", extra as u32);
        let posicion = format!("en la posición {position} no está en el vocabulario");
        prop_assert!(msg.contains(&codigo), "{}", msg);
        prop_assert!(msg.contains(&posicion), "{}", msg);
    }

    #[test]
    fn un_identificador_fuera_de_rango_es_un_error(
        (fuente, s) in vocabulario_y_texto(),
        exceso in 0u32..1000,
        donde in any::<Index>(),
    ) {
        let tok = Tokenizer::from_text(&fuente);
        let mut ids = tok.encode(&s).unwrap();
        let id = tok.vocab_size() as u32 + exceso;
        let position = donde.index(ids.len() + 1);
        ids.insert(position, id);

        let err = tok.decode(&ids).unwrap_err();
        prop_assert_eq!(
            &err,
            &TokenizerError::IdOutOfRange { id, position, vocab_size: tok.vocab_size() }
        );
        let esperado = format!(
            "el identificador {id} en la posición {position} está fuera del vocabulario (0..{})",
            tok.vocab_size()
        );
        prop_assert_eq!(err.to_string(), esperado);
        // El mayor identificador posible también.
        prop_assert!(tok.decode(&[u32::MAX]).is_err());
    }
}
