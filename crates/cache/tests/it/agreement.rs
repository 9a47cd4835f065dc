//! The shipped scripts decide exactly alike on Redis and in process.

use chatflow_cache::{CacheRef, gcra};

/// A deterministic mix of costs and clock steps, including refusals,
/// refills, pure queries and requests that can never fit.
fn schedule() -> Vec<(i64, i64)> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut now = 1_700_000_000_000_i64;
    (0..300)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let cost = ((state >> 33) % 6) as i64;
            let step = ((state >> 40) % 4) as i64 * ((state >> 50) % 9_000) as i64;
            now += step;
            (cost, now)
        })
        .collect()
}

async fn replay(cache: &CacheRef) -> Vec<Vec<i64>> {
    let mut replies = Vec::new();
    for (cost, now) in schedule() {
        // Ten seconds per token, bursts of four: limiter keys live for seconds,
        // far longer than the replay takes, so real time never interferes.
        let args = [10_000, 30_000, cost, now];
        replies.push(
            cache
                .eval(gcra(), &["limiter".to_owned()], &args)
                .await
                .unwrap(),
        );
    }
    replies
}

#[tokio::test]
async fn gcra_decides_the_same_on_redis_and_in_process() {
    let memory = crate::memory_fixture().await;
    let redis = crate::redis_fixture().await;
    let (expected, actual) = (replay(&memory.cache).await, replay(&redis.cache).await);
    let allowed = expected.iter().filter(|r| r[0] == 1).count();
    assert!(
        allowed > 30 && allowed < 270,
        "the schedule exercises both outcomes: {allowed}"
    );
    assert!(
        expected.iter().any(|r| r[1] == -1),
        "the schedule has requests that never fit"
    );
    for (i, (m, r)) in expected.iter().zip(&actual).enumerate() {
        assert_eq!(
            m,
            r,
            "step {i} {:?}: memory {m:?} vs redis {r:?}",
            schedule()[i]
        );
    }
}
