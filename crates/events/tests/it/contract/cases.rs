//! Contract cases for publishing, consuming, groups and tails.

use std::collections::{BTreeMap, BTreeSet};

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_events::{BusError, Delivery, OutgoingRecord, partition_for_key};

use crate::support::{Env, partitions, record, text};

pub async fn round_trip_keeps_key_payload_and_headers(env: &Env) {
    let bus = env.bus().await;
    assert_eq!(bus.backend(), env.backend);
    bus.ensure_topic("events", 3).await.unwrap();
    let mut sub = bus.subscribe("g", &["events".into()]).await.unwrap();
    let sent = OutgoingRecord::new("events", b"conv-1".to_vec(), b"hello".to_vec())
        .with_header("content-type", b"application/x-protobuf".to_vec())
        .with_header("x-binary", vec![0, 1, 255]);
    let (partition, offset) = bus.publish(sent.clone()).await.unwrap();
    // Same partitioner everywhere: Kafka's murmur2.
    assert_eq!(partition, partition_for_key(b"conv-1", 3));

    let got = env.next(&mut sub).await;
    assert_eq!(got.topic, "events", "prefix is stripped");
    assert_eq!((got.partition, got.offset), (partition, offset));
    assert_eq!(got.key, sent.key);
    assert_eq!(got.payload, sent.payload);
    assert_eq!(got.headers, sent.headers);
    assert_eq!(got.header("x-binary"), Some(&[0u8, 1, 255][..]));
    sub.close().await.unwrap();
}

pub async fn a_batch_keeps_its_order_and_fails_in_place(env: &Env) {
    const BATCH: usize = 300;
    let bus = env.bus().await;
    bus.ensure_topic("batched", 2).await.unwrap();
    let mut records: Vec<OutgoingRecord> = (0..BATCH)
        .map(|i| record("batched", "conv-9", &format!("m{i}")))
        .collect();
    // A record for a topic that cannot exist fails alone, in its place.
    records.insert(BATCH / 2, record("Not A Topic!", "conv-9", "bad"));
    let outcomes = bus.publish_batch(records).await;
    assert_eq!(outcomes.len(), BATCH + 1);
    assert!(outcomes[BATCH / 2].is_err(), "{:?}", outcomes[BATCH / 2]);
    let stored: Vec<(u32, u64)> = outcomes
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != BATCH / 2)
        .map(|(_, outcome)| outcome.unwrap())
        .collect();
    let partition = partition_for_key(b"conv-9", 2);
    assert!(stored.iter().all(|(p, _)| *p == partition));
    assert!(
        stored.windows(2).all(|w| w[1].1 == w[0].1 + 1),
        "offsets are consecutive in batch order"
    );
    let mut sub = bus.subscribe("g", &["batched".into()]).await.unwrap();
    for i in 0..BATCH {
        assert_eq!(text(&env.next(&mut sub).await), format!("m{i}"));
    }
    sub.close().await.unwrap();
}

pub async fn per_key_order_is_kept(env: &Env) {
    const PER_KEY: usize = 200;
    let bus = env.bus().await;
    bus.ensure_topic("orders", 4).await.unwrap();
    // Three concurrent publishers, each strictly sequential for its own key.
    let publishers = ["alpha", "bravo", "charlie"].map(|key| {
        let bus = bus.clone();
        tokio::spawn(async move {
            for i in 0..PER_KEY {
                bus.publish(record("orders", key, &format!("{key}:{i}")))
                    .await
                    .unwrap();
            }
        })
    });
    for publisher in publishers {
        publisher.await.unwrap();
    }

    let mut sub = bus.subscribe("g", &["orders".into()]).await.unwrap();
    let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut partition_of: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..3 * PER_KEY {
        let d = env.next(&mut sub).await;
        let payload = text(&d);
        let (key, i) = payload.split_once(':').unwrap();
        assert_eq!(
            *partition_of.entry(key.into()).or_insert(d.partition),
            d.partition
        );
        seen.entry(key.into()).or_default().push(i.parse().unwrap());
    }
    for (key, sequence) in &seen {
        assert_eq!(
            sequence,
            &(0..PER_KEY).collect::<Vec<_>>(),
            "order of {key}"
        );
    }
    assert_eq!(seen.len(), 3);
    env.nothing_more(&mut sub).await;
    sub.close().await.unwrap();
}

pub async fn committed_offsets_resume_after_close(env: &Env) {
    let bus = env.bus().await;
    bus.ensure_topic("resume", 2).await.unwrap();
    for i in 0..20 {
        bus.publish(record("resume", &format!("k{}", i % 5), &format!("r{i}")))
            .await
            .unwrap();
    }
    let mut first = BTreeSet::new();
    let mut sub = bus.subscribe("g", &["resume".into()]).await.unwrap();
    for _ in 0..10 {
        let d = env.next(&mut sub).await;
        sub.commit(&d).await.unwrap();
        first.insert((d.partition, d.offset));
    }
    sub.close().await.unwrap();

    let mut sub = bus.subscribe("g", &["resume".into()]).await.unwrap();
    let mut second = BTreeSet::new();
    for _ in 0..10 {
        let d = env.next(&mut sub).await;
        assert!(
            !first.contains(&(d.partition, d.offset)),
            "redelivered {d:?}"
        );
        assert!(second.insert((d.partition, d.offset)), "duplicate {d:?}");
        sub.commit(&d).await.unwrap();
    }
    env.nothing_more(&mut sub).await;
    sub.close().await.unwrap();
}

pub async fn group_members_split_partitions_exactly_once(env: &Env) {
    const RECORDS: usize = 200;
    let bus = env.bus().await;
    bus.ensure_topic("split", 4).await.unwrap();
    let topics = ["split".to_owned()];
    let mut a = bus.subscribe("workers", &topics).await.unwrap();
    let mut b = bus.subscribe("workers", &topics).await.unwrap();

    // Wait (on the watches, never a sleep) until the two members hold
    // disjoint, non-empty shares that together cover all four partitions.
    let (mut rx_a, mut rx_b) = (a.assignment(), b.assignment());
    let deadline = tokio::time::Instant::now() + env.patience;
    let (share_a, share_b) = loop {
        let (pa, pb) = (
            partitions(&rx_a.borrow_and_update()),
            partitions(&rx_b.borrow_and_update()),
        );
        if !pa.is_empty() && !pb.is_empty() && pa.is_disjoint(&pb) && pa.len() + pb.len() == 4 {
            break (pa, pb);
        }
        let changed = async {
            tokio::select! {
                r = rx_a.changed() => r,
                r = rx_b.changed() => r,
            }
        };
        tokio::time::timeout_at(deadline, changed)
            .await
            .expect("members never split the partitions")
            .unwrap();
    };

    for i in 0..RECORDS {
        bus.publish(record("split", &format!("key-{}", i % 20), &i.to_string()))
            .await
            .unwrap();
    }
    let mut seen = BTreeSet::new();
    let (mut from_a, mut from_b) = (0, 0);
    while seen.len() < RECORDS {
        let got: Result<(bool, Delivery), _> = tokio::time::timeout(env.patience, async {
            tokio::select! {
                d = a.next() => (true, d.unwrap()),
                d = b.next() => (false, d.unwrap()),
            }
        })
        .await;
        let (is_a, d) = got.expect("timed out waiting for records");
        let share = if is_a { &share_a } else { &share_b };
        assert!(
            share.contains(&d.partition),
            "record from a foreign partition: {d:?}"
        );
        assert!(seen.insert(text(&d)), "delivered twice: {d:?}");
        if is_a {
            from_a += 1;
            a.commit(&d).await.unwrap();
        } else {
            from_b += 1;
            b.commit(&d).await.unwrap();
        }
    }
    assert!(
        from_a > 0 && from_b > 0,
        "both members worked: {from_a}/{from_b}"
    );
    env.nothing_more(&mut a).await;
    env.nothing_more(&mut b).await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

pub async fn killed_consumer_redelivers_only_uncommitted(env: &Env) {
    let bus = env.bus().await;
    bus.ensure_topic("kill", 2).await.unwrap();
    let mut all = BTreeSet::new();
    for i in 0..100 {
        let (p, o) = bus
            .publish(record("kill", &format!("k{}", i % 10), &i.to_string()))
            .await
            .unwrap();
        all.insert((p, o));
    }
    let mut victim = bus.subscribe("g", &["kill".into()]).await.unwrap();
    // Next offset to process per partition, as committed by the victim.
    let mut committed: BTreeMap<u32, u64> = BTreeMap::new();
    for n in 0..60 {
        let d = env.next(&mut victim).await;
        if n < 40 {
            victim.commit(&d).await.unwrap();
            committed.insert(d.partition, d.offset + 1);
        }
    }
    drop(victim); // no close: a crash

    let expected: BTreeSet<(u32, u64)> = all
        .into_iter()
        .filter(|(p, o)| *o >= committed.get(p).copied().unwrap_or(0))
        .collect();
    let mut heir = bus.subscribe("g", &["kill".into()]).await.unwrap();
    let mut got = BTreeSet::new();
    while got.len() < expected.len() {
        let d = env.next(&mut heir).await;
        assert!(got.insert((d.partition, d.offset)), "duplicate {d:?}");
    }
    assert_eq!(got, expected, "exactly the uncommitted records come back");
    env.nothing_more(&mut heir).await;
    heir.close().await.unwrap();
}

pub async fn tail_sees_only_new_records(env: &Env) {
    let bus = env.bus().await;
    bus.ensure_topic("live", 2).await.unwrap();
    // Concurrent publishes, so a broker may store them as multi-record batches.
    let history: Vec<_> = (0..50)
        .map(|i| {
            let bus = bus.clone();
            tokio::spawn(async move {
                let old = record("live", &format!("k{}", i % 5), &format!("old-{i}"));
                bus.publish(old).await.unwrap();
            })
        })
        .collect();
    for publish in history {
        publish.await.unwrap();
    }
    let mut tail = bus.tail(&["live".into()]).await.unwrap();
    let assigned = tail.assignment().borrow().clone();
    assert_eq!(
        assigned,
        vec![("live".to_owned(), 0), ("live".to_owned(), 1)]
    );
    for i in 0..5 {
        bus.publish(record("live", &format!("k{i}"), &format!("new-{i}")))
            .await
            .unwrap();
    }
    let mut got = BTreeSet::new();
    for _ in 0..5 {
        let d = env.next(&mut tail).await;
        assert!(text(&d).starts_with("new-"), "tail replayed history: {d:?}");
        tail.commit(&d).await.unwrap(); // a no-op, but allowed
        got.insert(text(&d));
    }
    assert_eq!(got.len(), 5);
    env.nothing_more(&mut tail).await;
    tail.close().await.unwrap();
}

pub async fn invalid_names_are_rejected(env: &Env) {
    let bus = env.bus().await;
    let invalid = |r: Result<(), BusError>| {
        let err = r.expect_err("should be rejected");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    };
    invalid(bus.ensure_topic("bad topic!", 1).await);
    invalid(bus.ensure_topic("fine", 0).await);
    invalid(bus.ensure_topic(&"x".repeat(250), 1).await);
    invalid(bus.publish(record("a/b", "k", "v")).await.map(|_| ()));
    invalid(bus.subscribe("g", &["".into()]).await.map(|_| ()));
    invalid(bus.subscribe("g", &[]).await.map(|_| ()));
    invalid(bus.tail(&["ü".into()]).await.map(|_| ()));
}

pub async fn ensure_topic_is_idempotent_and_ping_works(env: &Env) {
    let bus = env.bus().await;
    bus.ping().await.unwrap();
    bus.ensure_topic("twice", 2).await.unwrap();
    bus.ensure_topic("twice", 2).await.unwrap();
    // The partition count of an existing topic is kept.
    bus.ensure_topic("twice", 5).await.unwrap();
    let (partition, _) = bus.publish(record("twice", "some-key", "v")).await.unwrap();
    assert_eq!(partition, partition_for_key(b"some-key", 2));
}
