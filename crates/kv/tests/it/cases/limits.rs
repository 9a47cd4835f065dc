//! Requests refused before any call: sizes, keys, cursors, tables.

use chatflow_errors::ErrorKind;
use chatflow_kv::{
    Condition, Cursor, Item, KvError, KvStoreRef, MAX_ITEM_BYTES, MAX_PK_BYTES, MAX_SK_BYTES,
    Query, SortRange, TableSpec,
};

use super::assert_kind;
use crate::{MESSAGES, message};

pub async fn oversized_and_malformed_items_are_rejected(store: &KvStoreRef) {
    let big = Item::new("p", "s", vec![7u8; MAX_ITEM_BYTES]);
    let err = assert_kind(
        store.put(MESSAGES, big.clone(), Condition::None).await,
        ErrorKind::InvalidArgument,
    );
    assert!(matches!(err, KvError::ItemTooLarge { .. }), "{err}");
    assert_kind(
        store.batch_put(MESSAGES, vec![message("b", 1), big]).await,
        ErrorKind::InvalidArgument,
    );
    assert!(
        store
            .get(MESSAGES, &message("b", 1).pk, &message("b", 1).sk)
            .await
            .unwrap()
            .is_none(),
        "a batch with one bad item writes nothing"
    );
    // Just under the limit is stored (names and other values count too).
    let fits = Item::new("p", "s", vec![7u8; MAX_ITEM_BYTES - 64]);
    store.put(MESSAGES, fits, Condition::None).await.unwrap();

    for (pk, sk) in [
        ("", "s"),
        ("p", ""),
        (&*"p".repeat(MAX_PK_BYTES + 1), "s"),
        ("p", &*"s".repeat(MAX_SK_BYTES + 1)),
    ] {
        let item = Item::new(pk, sk, "x");
        assert_kind(
            store.put(MESSAGES, item, Condition::None).await,
            ErrorKind::InvalidArgument,
        );
        assert_kind(
            store.get(MESSAGES, pk, sk).await,
            ErrorKind::InvalidArgument,
        );
    }
    let longest = Item::new("p".repeat(MAX_PK_BYTES), "s".repeat(MAX_SK_BYTES), "x");
    store.put(MESSAGES, longest, Condition::None).await.unwrap();
    let empty_index_key = message("b", 2).with_gsi1("", "x");
    assert_kind(
        store.put(MESSAGES, empty_index_key, Condition::None).await,
        ErrorKind::InvalidArgument,
    );
    assert_kind(
        store.increment(MESSAGES, "p", "s", "", 1).await,
        ErrorKind::InvalidArgument,
    );
    assert_kind(
        store.query(MESSAGES, Query::new("p").with_limit(0)).await,
        ErrorKind::InvalidArgument,
    );
    let reversed = Query::new("p").with_range(SortRange::Between("b".into(), "a".into()));
    assert_kind(
        store.query(MESSAGES, reversed).await,
        ErrorKind::InvalidArgument,
    );
    assert_kind(
        store.get("bad name!", "p", "s").await,
        ErrorKind::InvalidArgument,
    );
}

pub async fn malformed_cursors_are_rejected(store: &KvStoreRef) {
    let items: Vec<Item> = (0..10).map(|seq| message("cur", seq)).collect();
    store.batch_put(MESSAGES, items).await.unwrap();
    let first = store
        .query(MESSAGES, Query::new("conv#cur").with_limit(3))
        .await
        .unwrap();
    let valid = first.next.clone().unwrap();

    let mut forged = vec![
        String::new(),
        "not a cursor!".into(),
        "AAAAAAAA".into(),
        "A".repeat(100_000),
        format!("{}x", valid.as_str()),
    ];
    // Every single-character edit of a valid cursor.
    for i in 0..valid.as_str().len() {
        let mut chars: Vec<char> = valid.as_str().chars().collect();
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        forged.push(chars.into_iter().collect());
    }
    for text in forged {
        let query = Query::new("conv#cur")
            .with_limit(3)
            .after(Some(Cursor::from_string(text)));
        let err = assert_kind(
            store.query(MESSAGES, query).await,
            ErrorKind::InvalidArgument,
        );
        assert!(matches!(err, KvError::InvalidCursor(_)), "{err}");
    }
    // A valid cursor presented to another query is refused.
    for other in [
        Query::new("conv#other").after(first.next.clone()),
        Query::new("conv#cur").backward().after(first.next.clone()),
        Query::new("conv#cur")
            .with_range(SortRange::Gt("zzz".into()))
            .after(first.next.clone()),
    ] {
        assert_kind(
            store.query(MESSAGES, other).await,
            ErrorKind::InvalidArgument,
        );
    }
    assert_kind(
        store
            .query_index(MESSAGES, Query::new("conv#cur").after(first.next.clone()))
            .await,
        ErrorKind::InvalidArgument,
    );
    // And the genuine one still works.
    let second = store
        .query(
            MESSAGES,
            Query::new("conv#cur").with_limit(3).after(first.next),
        )
        .await
        .unwrap();
    assert_eq!(second.items[0].sk, message("cur", 3).sk);
}

pub async fn ensure_tables_is_idempotent(store: &KvStoreRef) {
    store.ensure_tables(&crate::specs()).await.unwrap();
    store
        .put(MESSAGES, message("e", 1), Condition::None)
        .await
        .unwrap();
    store.ensure_tables(&crate::specs()).await.unwrap();
    assert!(
        store
            .get(MESSAGES, &message("e", 1).pk, &message("e", 1).sk)
            .await
            .unwrap()
            .is_some()
    );
    let mismatched = TableSpec::new(MESSAGES);
    assert_kind(
        store.ensure_tables(&[mismatched]).await,
        ErrorKind::InvalidArgument,
    );
}

pub async fn missing_table_is_not_found(store: &KvStoreRef) {
    let err = assert_kind(
        store.get("never_created", "p", "s").await,
        ErrorKind::NotFound,
    );
    assert!(
        matches!(err, KvError::TableNotFound(ref t) if t == "never_created"),
        "{err}"
    );
    assert_kind(
        store
            .put("never_created", message("x", 1), Condition::None)
            .await,
        ErrorKind::NotFound,
    );
    store.drop_tables(&["never_created"]).await.unwrap();
}
