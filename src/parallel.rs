//! Repartir trabajo independiente entre los dos núcleos de un portátil, sin cambiar el
//! resultado: cada elemento se procesa entero en un hilo, así que da igual cuál.

/// Llama a `f` con cada elemento de `items`, repartidos en dos hilos con más o menos el mismo
/// `weight` total cada uno (en una sola máquina de un núcleo, o si hay poco trabajo, en este
/// hilo). Devuelve el primer error.
pub fn for_each_in_two<T: Sync, E: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> Result<(), E> + Sync,
) -> Result<(), E> {
    /// Por debajo de esto, crear un hilo cuesta más de lo que ahorra.
    const MIN_WEIGHT: usize = 1 << 16;
    let total: usize = items.iter().map(&weight).sum();
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    if !two_cores || total < MIN_WEIGHT {
        return items.iter().try_for_each(&f);
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
        let other = s.spawn(|| second.iter().try_for_each(&f));
        let mine = first.iter().try_for_each(&f);
        let theirs = other.join().expect("el segundo hilo no entra en pánico");
        mine.and(theirs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_item_is_processed_once() {
        for n in [0, 1, 2, 7, 100] {
            let items: Vec<usize> = (0..n).collect();
            let seen = Mutex::new(Vec::new());
            for_each_in_two(
                &items,
                |_| 1 << 20,
                |&i| {
                    seen.lock().unwrap().push(i);
                    Ok::<_, ()>(())
                },
            )
            .unwrap();
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            assert_eq!(seen, items);
        }
    }

    #[test]
    fn an_error_is_returned() {
        let items: Vec<usize> = (0..10).collect();
        let r = for_each_in_two(
            &items,
            |_| 1 << 20,
            |&i| if i == 8 { Err(i) } else { Ok(()) },
        );
        assert_eq!(r, Err(8));
    }
}
