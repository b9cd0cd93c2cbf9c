//! Repartir trabajo independiente entre los dos núcleos de un portátil, sin cambiar el
//! resultado: cada elemento se procesa entero en un hilo, así que da igual cuál.

/// `f` aplicada a cada elemento de `items`, con los resultados en el orden de `items`. Los
/// elementos se reparten en dos hilos con más o menos el mismo `weight` total cada uno (en
/// una máquina de un núcleo, o si hay poco trabajo, todo en este hilo). Devuelve el primer
/// error.
pub fn map_in_two<T: Sync, R: Send, E: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    /// Por debajo de esto, crear un hilo cuesta más de lo que ahorra.
    const MIN_WEIGHT: usize = 1 << 16;
    let total: usize = items.iter().map(&weight).sum();
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    if !two_cores || total < MIN_WEIGHT {
        return items.iter().map(&f).collect();
    }
    // El primer trozo acaba donde el peso acumulado pasa de la mitad.
    let mut acc = 0;
    let split = items
        .iter()
        .position(|it| {
            acc += weight(it);
            2 * acc >= total
        })
        .map_or(items.len(), |i| i + 1);
    let (first, second) = items.split_at(split);
    std::thread::scope(|s| {
        let other = s.spawn(|| second.iter().map(&f).collect::<Result<Vec<R>, E>>());
        let mine = first.iter().map(&f).collect::<Result<Vec<R>, E>>();
        let theirs = other.join().expect("el segundo hilo no entra en pánico");
        let mut out = mine?;
        out.extend(theirs?);
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_order_whatever_the_split() {
        for n in [0, 1, 2, 7, 100] {
            let items: Vec<usize> = (0..n).collect();
            let heavy = map_in_two(&items, |_| 1 << 20, |&i| Ok::<_, ()>(i * i)).unwrap();
            let light = map_in_two(&items, |_| 1, |&i| Ok::<_, ()>(i * i)).unwrap();
            let want: Vec<usize> = items.iter().map(|i| i * i).collect();
            assert_eq!(heavy, want);
            assert_eq!(light, want);
        }
    }

    #[test]
    fn an_error_is_returned() {
        let items: Vec<usize> = (0..10).collect();
        let r = map_in_two(
            &items,
            |_| 1 << 20,
            |&i| if i == 8 { Err(i) } else { Ok(()) },
        );
        assert_eq!(r, Err(8));
    }
}
