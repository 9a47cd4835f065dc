//! The cache port's contract, written once for every backend.

mod counters;
mod kv;
mod pubsub;
mod scripts;
mod sets;

/// Instantiates every contract test for one backend.
#[macro_export]
macro_rules! contract_suite {
    ($fixture:path, $backend:literal) => {
        mod kv {
            $crate::kv_cases!($fixture, $backend);
        }
        mod counters {
            $crate::counter_cases!($fixture, $backend);
        }
        mod sets {
            $crate::set_cases!($fixture, $backend);
        }
        mod pubsub {
            $crate::pubsub_cases!($fixture, $backend);
        }
        mod scripts {
            $crate::script_cases!($fixture, $backend);
        }
    };
}
