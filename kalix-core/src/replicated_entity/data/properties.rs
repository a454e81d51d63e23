//! Property tests of every data type: random changes on three replicas with random merges
//! between them. Each change's delta joined into the state before it gives the state after it;
//! an observer that gets only the deltas, in any order and more than once, ends where the
//! replicas do; merge is commutative, associative and idempotent; and replicas that merged
//! everything agree.

use proptest::prelude::*;

use super::*;

/// One step: a change on a replica, or one replica merging another's state.
#[derive(Clone, Debug)]
enum Step<O> {
    Change { replica: usize, op: O },
    Merge { from: usize, to: usize },
}

fn steps<O: std::fmt::Debug + Clone>(
    op: impl Strategy<Value = O> + Clone,
) -> impl Strategy<Value = (Vec<Step<O>>, Vec<usize>)> {
    let step = prop_oneof![
        3 => (0..3usize, op).prop_map(|(replica, op)| Step::Change { replica, op }),
        1 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Merge { from, to }),
    ];
    // The order the observer gets the deltas in: a permutation with repeats.
    (
        prop::collection::vec(step, 0..40),
        prop::collection::vec(0..1000usize, 0..80),
    )
}

/// Runs `steps` with `apply`, checking the properties.
fn check<D: ReplicatedData, O>(
    (steps, shuffle): (Vec<Step<O>>, Vec<usize>),
    apply: impl Fn(&D, &O) -> D,
) -> Result<(), TestCaseError> {
    let mut replicas: Vec<D> = (1..=3)
        .map(|replica| {
            let mut data = D::default();
            data.set_replica(replica);
            data
        })
        .collect();
    let mut deltas = Vec::new();
    for step in &steps {
        match step {
            Step::Change { replica, op } => {
                let before = replicas[*replica].clone();
                let after = apply(&before, op);
                let Some(delta) = after.delta() else {
                    // Nothing to change (a key without values removed).
                    prop_assert_eq!(&after, &before, "no delta, no change");
                    continue;
                };
                let mut joined = before;
                joined.merge(&delta);
                prop_assert_eq!(&joined, &after, "the delta joined into the state before");
                deltas.push(delta);
                let mut kept = after;
                kept.set_replica(*replica as u64 + 1);
                replicas[*replica] = kept;
            }
            Step::Merge { from, to } => {
                let from = replicas[*from].clone();
                replicas[*to].merge(&from);
            }
        }
    }
    let [a, b, c] = [&replicas[0], &replicas[1], &replicas[2]];
    let join = |x: &D, y: &D| {
        let mut joined = x.clone();
        joined.merge(y);
        joined
    };
    prop_assert_eq!(join(a, b), join(b, a), "commutative");
    prop_assert_eq!(join(&join(a, b), c), join(a, &join(b, c)), "associative");
    prop_assert_eq!(join(a, a), a.clone(), "idempotent");
    let everything = join(&join(a, b), c);
    // An observer given the deltas in another order, some twice, ends at the same state.
    let mut observer = D::default();
    if !deltas.is_empty() {
        for index in &shuffle {
            observer.merge(&deltas[index % deltas.len()]);
        }
    }
    for delta in &deltas {
        observer.merge(delta);
    }
    prop_assert_eq!(&observer, &everything, "the deltas alone, in any order");
    for replica in &replicas {
        prop_assert_eq!(
            &join(replica, &everything),
            &everything,
            "replicas converge"
        );
    }
    Ok(())
}

fn key() -> impl Strategy<Value = String> + Clone {
    prop::sample::select(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
}

proptest! {
    #[test]
    fn counter(run in steps((-5i64..5, any::<bool>()))) {
        check(run, |c: &ReplicatedCounter, &(by, up)| if up { c.increment(by) } else { c.decrement(by) })?;
    }

    #[test]
    fn register(run in steps((key(), 0u8..3, 0u64..4))) {
        check(run, |r: &ReplicatedRegister<String>, (value, clock, custom)| {
            let clock = match clock { 0 => Clock::Default, 1 => Clock::Reverse, _ => Clock::Custom(*custom) };
            r.set_with_clock(value.clone(), clock)
        })?;
    }

    #[test]
    fn set(run in steps((key(), any::<bool>()))) {
        check(run, |s: &ReplicatedSet<String>, (element, add)| {
            if *add { s.add(element.clone()) } else { s.remove(element) }
        })?;
    }

    #[test]
    fn counter_map(run in steps((key(), -3i64..4, any::<bool>()))) {
        check(run, |m: &ReplicatedCounterMap<String>, (k, by, remove)| {
            if *remove { m.remove(k) } else { m.increment(k.clone(), *by) }
        })?;
    }

    #[test]
    fn register_map(run in steps((key(), key(), any::<bool>()))) {
        check(run, |m: &ReplicatedRegisterMap<String, String>, (k, v, remove)| {
            if *remove { m.remove(k) } else { m.set(k.clone(), v.clone()) }
        })?;
    }

    #[test]
    fn multi_map(run in steps((key(), key(), 0u8..3))) {
        check(run, |m: &ReplicatedMultiMap<String, String>, (k, v, op)| match op {
            0 => m.put(k.clone(), v.clone()),
            1 => m.remove(k.clone(), v.clone()),
            _ => m.remove_all(k),
        })?;
    }

    #[test]
    fn map_of_counters(run in steps((key(), -3i64..4, any::<bool>()))) {
        check(run, |m: &ReplicatedMap<String, ReplicatedCounter>, (k, by, remove)| {
            if *remove { m.remove(k) } else { m.update(k.clone(), |c| c.increment(*by)) }
        })?;
    }

    #[test]
    fn map_of_sets(run in steps((key(), key(), 0u8..3))) {
        check(run, |m: &ReplicatedMap<String, ReplicatedSet<String>>, (k, v, op)| match op {
            0 => m.update(k.clone(), |s| s.add(v.clone())),
            1 => m.update(k.clone(), |s| s.remove(v)),
            _ => m.remove(k),
        })?;
    }

    #[test]
    fn map_of_registers(run in steps((key(), key(), any::<bool>()))) {
        check(run, |m: &ReplicatedMap<String, ReplicatedRegister<String>>, (k, v, remove)| {
            if *remove { m.remove(k) } else { m.update(k.clone(), |r| r.set(v.clone())) }
        })?;
    }

    #[test]
    fn vote(run in steps(any::<bool>())) {
        check(run, |v: &ReplicatedVote, vote| v.vote(*vote))?;
    }

    /// Every increment counts, however the replicas merge.
    #[test]
    fn a_counter_converges_to_the_sum_of_every_change(run in steps(-5i64..5)) {
        let sum: i64 = run.0.iter().map(|step| match step { Step::Change { op, .. } => *op, Step::Merge { .. } => 0 }).sum();
        let mut replicas: Vec<ReplicatedCounter> = (1..=3).map(|r| { let mut c = ReplicatedCounter::default(); c.set_replica(r); c }).collect();
        for step in &run.0 {
            match step {
                Step::Change { replica, op } => { let mut next = replicas[*replica].increment(*op); next.set_replica(*replica as u64 + 1); replicas[*replica] = next; }
                Step::Merge { from, to } => { let from = replicas[*from].clone(); replicas[*to].merge(&from); }
            }
        }
        let mut all = replicas[0].clone();
        all.merge(&replicas[1]);
        all.merge(&replicas[2]);
        prop_assert_eq!(all.value(), sum);
    }
}

#[test]
fn an_add_wins_over_a_concurrent_remove() {
    let mut a = ReplicatedSet::<String>::default();
    a.set_replica(1);
    let mut b = ReplicatedSet::<String>::default();
    b.set_replica(2);
    let mut a = a.add("x".to_owned());
    a.set_replica(1);
    b.merge(&a);
    // b removes the add it saw; a adds again concurrently.
    let removed = b.remove(&"x".to_owned());
    let added_again = a.add("x".to_owned());
    let mut merged = removed.clone();
    merged.merge(&added_again);
    assert!(merged.contains(&"x".to_owned()));
    // A remove after seeing every add removes it.
    let mut seen_all = added_again.clone();
    seen_all.merge(&removed);
    seen_all.set_replica(1);
    assert!(!seen_all.remove(&"x".to_owned()).contains(&"x".to_owned()));
}

#[test]
fn a_reverse_clock_keeps_the_first_write_and_a_custom_clock_the_greatest() {
    let first = ReplicatedRegister::default().set_with_clock("first".to_owned(), Clock::Reverse);
    let second = first.set_with_clock("second".to_owned(), Clock::Reverse);
    assert_eq!(second.get(), Some(&"first".to_owned()));
    let v2 = ReplicatedRegister::default().set_with_clock("v2".to_owned(), Clock::Custom(2));
    let v1 = v2.set_with_clock("v1".to_owned(), Clock::Custom(1));
    assert_eq!(v1.get(), Some(&"v2".to_owned()));
}

/// On one replica, each type behaves as the plain collection it stands for.
mod sequential {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::super::*;
    use super::key;

    fn mine<D: ReplicatedData>() -> D {
        let mut data = D::default();
        data.set_replica(1);
        data
    }

    proptest! {
        #[test]
        fn a_set_is_a_set(ops in prop::collection::vec((key(), any::<bool>()), 0..30)) {
            let (mut set, mut model) = (mine::<ReplicatedSet<String>>(), BTreeSet::new());
            for (element, add) in ops {
                if add {
                    set = set.add(element.clone());
                    model.insert(element);
                } else {
                    set = set.remove(&element);
                    model.remove(&element);
                }
                prop_assert_eq!(set.elements().cloned().collect::<BTreeSet<_>>(), model.clone());
                prop_assert_eq!(set.len(), model.len());
            }
        }

        #[test]
        fn a_counter_map_is_a_map_of_sums(ops in prop::collection::vec((key(), -3i64..4, any::<bool>()), 0..30)) {
            let (mut map, mut model) = (mine::<ReplicatedCounterMap<String>>(), BTreeMap::new());
            for (k, by, remove) in ops {
                if remove {
                    map = map.remove(&k);
                    model.remove(&k);
                } else {
                    map = map.increment(k.clone(), by);
                    *model.entry(k).or_insert(0) += by;
                }
                prop_assert_eq!(map.entries().into_iter().collect::<BTreeMap<_, _>>(), model.clone());
            }
        }

        #[test]
        fn a_register_map_is_a_map(ops in prop::collection::vec((key(), key(), any::<bool>()), 0..30)) {
            let (mut map, mut model) = (mine::<ReplicatedRegisterMap<String, String>>(), BTreeMap::new());
            for (k, v, remove) in ops {
                if remove {
                    map = map.remove(&k);
                    model.remove(&k);
                } else {
                    map = map.set(k.clone(), v.clone());
                    model.insert(k, v);
                }
                let keys = map.keys();
                let seen: BTreeMap<String, String> = keys.iter().map(|k| (k.clone(), map.get(k).unwrap().clone())).collect();
                prop_assert_eq!(seen, model.clone());
            }
        }

        #[test]
        fn a_multi_map_is_a_map_of_sets(ops in prop::collection::vec((key(), key(), 0u8..3), 0..30)) {
            let (mut map, mut model) = (mine::<ReplicatedMultiMap<String, String>>(), BTreeMap::<String, BTreeSet<String>>::new());
            for (k, v, op) in ops {
                match op {
                    0 => { map = map.put(k.clone(), v.clone()); model.entry(k).or_default().insert(v); }
                    1 => { map = map.remove(k.clone(), v.clone()); if let Some(values) = model.get_mut(&k) { values.remove(&v); if values.is_empty() { model.remove(&k); } } }
                    _ => { map = map.remove_all(&k); model.remove(&k); }
                }
                let seen: BTreeMap<String, BTreeSet<String>> = map.keys().into_iter().map(|k| { let values = map.get(&k).into_iter().collect(); (k, values) }).collect();
                prop_assert_eq!(seen, model.clone());
            }
        }

        #[test]
        fn a_map_of_counters_is_a_map_of_sums(ops in prop::collection::vec((key(), -3i64..4, any::<bool>()), 0..30)) {
            let (mut map, mut model) = (mine::<ReplicatedMap<String, ReplicatedCounter>>(), BTreeMap::new());
            for (k, by, remove) in ops {
                if remove {
                    map = map.remove(&k);
                    model.remove(&k);
                } else {
                    map = map.update(k.clone(), |counter| counter.increment(by));
                    *model.entry(k).or_insert(0) += by;
                }
                let seen: BTreeMap<String, i64> = map.keys().into_iter().map(|k| { let value = map.get(&k).unwrap().value(); (k, value) }).collect();
                prop_assert_eq!(seen, model.clone());
            }
        }

        #[test]
        fn a_register_holds_the_last_default_write(values in prop::collection::vec(key(), 1..10)) {
            let mut register = mine::<ReplicatedRegister<String>>();
            for value in &values {
                register = register.set(value.clone());
            }
            prop_assert_eq!(register.get(), values.last());
        }
    }
}
