//! What the tests and the bench share to drive the real `cimjob` binary from outside:
//! [`process`] (starting a service and waiting until it serves, its supervisors, reaping
//! what a killed service leaves) and [`chaos`] (a mixed workload while the service is killed
//! at random moments, and the verdict on what it left), and [`postgres`] (a schema of its own
//! in the real PostgreSQL server for each test).

pub mod chaos;
pub mod postgres;
pub mod process;
