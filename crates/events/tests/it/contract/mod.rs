//! The event-bus contract, written once and run on every backend.
//!
//! `bus_contract_suite!` turns each case into a test named after the backend
//! (`contract::kafka::per_key_order_is_kept`), so a failure says where.

mod cases;
mod runner_cases;

macro_rules! bus_contract_suite {
    ($env:expr) => {
        bus_contract_suite!(@cases $env;
            cases::round_trip_keeps_key_payload_and_headers,
            cases::per_key_order_is_kept,
            cases::a_batch_keeps_its_order_and_fails_in_place,
            cases::committed_offsets_resume_after_close,
            cases::group_members_split_partitions_exactly_once,
            cases::killed_consumer_redelivers_only_uncommitted,
            cases::tail_sees_only_new_records,
            cases::invalid_names_are_rejected,
            cases::ensure_topic_is_idempotent_and_ping_works,
            runner_cases::failures_are_dead_lettered_and_committed,
            runner_cases::transient_failure_is_retried_then_succeeds,
            runner_cases::a_held_partition_does_not_hold_back_the_others,
        );
    };
    (@cases $env:expr; $($module:ident :: $case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let env = $env;
                super::$module::$case(&env).await;
            }
        )+
    };
}

mod memory {
    bus_contract_suite!(crate::support::Env::memory());
}

mod sqlite {
    bus_contract_suite!(crate::support::Env::sqlite());
}

#[cfg(feature = "kafka")]
mod kafka {
    bus_contract_suite!(crate::support::Env::kafka());
}
