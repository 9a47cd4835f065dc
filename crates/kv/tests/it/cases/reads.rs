//! Queries: pagination in both directions, sort ranges, the secondary index, TTL.

use chatflow_kv::{Condition, Item, KvStoreRef, Page, Query, SortRange};

use super::now;
use crate::{MESSAGES, message};

/// Follows cursors until the end, checking every page but the last is full.
async fn drain(store: &KvStoreRef, query: Query, index: bool) -> (Vec<Item>, usize) {
    let limit = query.limit;
    let mut query = query;
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let page: Page = if index {
            store.query_index(MESSAGES, query.clone()).await.unwrap()
        } else {
            store.query(MESSAGES, query.clone()).await.unwrap()
        };
        pages += 1;
        assert!(page.items.len() <= limit);
        let last = page.next.is_none();
        if !last {
            assert_eq!(page.items.len(), limit, "only the last page may be short");
        }
        items.extend(page.items);
        if last {
            return (items, pages);
        }
        query = query.after(page.next);
    }
}

fn sort_keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.sk.clone()).collect()
}

pub async fn paginates_250_items_both_directions(store: &KvStoreRef) {
    let items: Vec<Item> = (0..250).map(|seq| message("page", seq)).collect();
    store.batch_put(MESSAGES, items.clone()).await.unwrap();
    // A neighbouring partition must never leak in.
    store
        .batch_put(MESSAGES, vec![message("pagf", 0), message("pag", 0)])
        .await
        .unwrap();
    let expected = sort_keys(&items);

    let (forward, pages) = drain(store, Query::new("conv#page").with_limit(40), false).await;
    assert_eq!(pages, 7);
    assert_eq!(
        sort_keys(&forward),
        expected,
        "no gaps, no duplicates, ascending"
    );

    let (backward, pages) = drain(
        store,
        Query::new("conv#page").with_limit(40).backward(),
        false,
    )
    .await;
    assert_eq!(pages, 7);
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(sort_keys(&backward), reversed);

    // Exactly one full page: no cursor, since nothing follows.
    let page = store
        .query(MESSAGES, Query::new("conv#page").with_limit(250))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next), (250, None));
}

pub async fn sort_ranges_select_what_they_say(store: &KvStoreRef) {
    let mut items: Vec<Item> = (0..30).map(|seq| message("r", seq)).collect();
    items.push(Item::new("conv#r", "meta", "m"));
    items.push(Item::new("conv#r", "msg$", "after the prefix"));
    store.batch_put(MESSAGES, items).await.unwrap();
    let sk = |seq: u64| message("r", seq).sk;
    let query = |range: SortRange| Query::new("conv#r").with_range(range).with_limit(1000);
    let keys = |page: Page| sort_keys(&page.items);

    let prefixed = keys(
        store
            .query(MESSAGES, query(SortRange::BeginsWith("msg#".into())))
            .await
            .unwrap(),
    );
    assert_eq!(prefixed, (0..30).map(sk).collect::<Vec<_>>());

    let between = keys(
        store
            .query(MESSAGES, query(SortRange::Between(sk(10), sk(14))))
            .await
            .unwrap(),
    );
    assert_eq!(between, (10..=14).map(sk).collect::<Vec<_>>());

    let gt = keys(
        store
            .query(MESSAGES, query(SortRange::Gt(sk(27))))
            .await
            .unwrap(),
    );
    assert_eq!(gt, [sk(28), sk(29), "msg$".into()]);
    let ge = keys(
        store
            .query(MESSAGES, query(SortRange::Ge(sk(29))))
            .await
            .unwrap(),
    );
    assert_eq!(ge, [sk(29), "msg$".into()]);
    let lt = keys(
        store
            .query(MESSAGES, query(SortRange::Lt(sk(1))))
            .await
            .unwrap(),
    );
    assert_eq!(lt, ["meta".to_owned(), sk(0)]);
    let le = keys(
        store
            .query(MESSAGES, query(SortRange::Le(sk(0))))
            .await
            .unwrap(),
    );
    assert_eq!(le, ["meta".to_owned(), sk(0)]);

    // Ranges combine with direction and cursors.
    let (latest, _) = drain(
        store,
        Query::new("conv#r")
            .with_range(SortRange::BeginsWith("msg#".into()))
            .backward()
            .with_limit(7),
        false,
    )
    .await;
    assert_eq!(
        sort_keys(&latest),
        (0..30).rev().map(sk).collect::<Vec<_>>()
    );
}

pub async fn secondary_index_pages_in_order(store: &KvStoreRef) {
    // 60 messages by one author across 3 conversations, indexed by time; some
    // share a timestamp, so ties on gsi1sk must page without loss.
    let items: Vec<Item> = (0..60)
        .map(|seq| {
            message(&format!("c{}", seq % 3), seq).with_gsi1("author#7", format!("t{:04}", seq / 2))
        })
        .collect();
    store.batch_put(MESSAGES, items.clone()).await.unwrap();
    store
        .put(
            MESSAGES,
            message("c9", 1).with_gsi1("author#8", "t0000"),
            Condition::None,
        )
        .await
        .unwrap();
    store
        .put(MESSAGES, message("c9", 2), Condition::None)
        .await
        .unwrap();

    let (found, pages) = drain(store, Query::new("author#7").with_limit(7), true).await;
    assert_eq!(found.len(), 60);
    assert_eq!(pages, 9);
    let times: Vec<_> = found.iter().map(|i| i.gsi1.clone().unwrap().1).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "ascending by gsi1sk"
    );
    let mut keys: Vec<_> = found.iter().map(|i| (i.pk.clone(), i.sk.clone())).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 60, "no duplicates across pages");

    let (backward, _) = drain(
        store,
        Query::new("author#7").with_limit(11).backward(),
        true,
    )
    .await;
    let mut reversed = found.clone();
    reversed.reverse();
    let times_back: Vec<_> = backward.iter().map(|i| i.gsi1.clone().unwrap().1).collect();
    let times_rev: Vec<_> = reversed.iter().map(|i| i.gsi1.clone().unwrap().1).collect();
    assert_eq!(times_back, times_rev);

    let ranged =
        Query::new("author#7").with_range(SortRange::Between("t0005".into(), "t0006".into()));
    let page = store.query_index(MESSAGES, ranged).await.unwrap();
    assert_eq!(page.items.len(), 4);
}

pub async fn expired_items_are_invisible(store: &KvStoreRef) {
    let past = now() - 10;
    let future = now() + 3600;
    let mut items = Vec::new();
    for seq in 0..20 {
        let at = if seq % 2 == 0 { past } else { future };
        items.push(
            message("ttl", seq)
                .with_expires_at(at)
                .with_gsi1("ttl-index", format!("{seq:03}")),
        );
    }
    store.batch_put(MESSAGES, items).await.unwrap();

    let expired = message("ttl", 0);
    assert!(
        store
            .get(MESSAGES, &expired.pk, &expired.sk)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get(MESSAGES, &expired.pk, &message("ttl", 1).sk)
            .await
            .unwrap()
            .is_some()
    );

    // Pages stay full even when expired items sit between live ones.
    let (live, _) = drain(store, Query::new("conv#ttl").with_limit(3), false).await;
    assert_eq!(
        sort_keys(&live),
        (1..20)
            .step_by(2)
            .map(|s| message("ttl", s).sk)
            .collect::<Vec<_>>()
    );
    let (live_indexed, _) = drain(store, Query::new("ttl-index").with_limit(4), true).await;
    assert_eq!(live_indexed.len(), 10);

    // An expired item counts as absent for conditions.
    assert!(
        store
            .put(MESSAGES, expired.clone(), Condition::IfVersion(0))
            .await
            .is_err()
    );
    assert_eq!(
        store
            .put(MESSAGES, expired.clone(), Condition::IfAbsent)
            .await
            .unwrap(),
        1
    );
    let back = store
        .get(MESSAGES, &expired.pk, &expired.sk)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.expires_at, None);

    // Incrementing an expired counter starts it over.
    let counter = Item::new("conv#ttl", "counter", "").with_expires_at(past);
    store.put(MESSAGES, counter, Condition::None).await.unwrap();
    assert_eq!(
        store
            .increment(MESSAGES, "conv#ttl", "counter", "n", 2)
            .await
            .unwrap(),
        2
    );
}
