//! The ValueMap/Values pairs of CIM_ConcreteJob and its ancestors, as Rust enums.
//!
//! Each enum carries its wire number and its display name, and exposes the exact
//! `VALUE_MAP`/`VALUES` arrays that the property table hands to class declarations, so the
//! numbers a client sees, the names the CLI prints and the values validation accepts come
//! from one definition.

use std::fmt;

/// Declares a value-mapped enum: `Variant = number => "Display name"`, plus the reserved
/// ranges that appear in the MOF ValueMap (they are listed in `VALUE_MAP` but have no variant).
macro_rules! value_map {
    (
        $(#[$meta:meta])*
        $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $num:literal => $display:literal ),+ $(,)?
        }
        $( reserved { $( $range:literal => $rdisplay:literal ),* $(,)? } )?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!($display, " (", stringify!($num), ")")] $variant ),+
        }

        impl $name {
            /// Every defined value, in ValueMap order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The MOF `ValueMap` qualifier, reserved ranges included.
            pub const VALUE_MAP: &'static [&'static str] = &[$(stringify!($num)),+ $($(, $range)*)?];
            /// The MOF `Values` qualifier, parallel to [`Self::VALUE_MAP`].
            pub const VALUES: &'static [&'static str] = &[$($display),+ $($(, $rdisplay)*)?];

            /// The number this value has on the wire.
            pub const fn number(self) -> $repr {
                match self { $($name::$variant => $num),+ }
            }

            /// The standard's display name for this value.
            pub const fn name(self) -> &'static str {
                match self { $($name::$variant => $display),+ }
            }

            /// The value with this wire number, if the map defines one.
            pub fn from_number(n: $repr) -> Option<Self> {
                match n { $($num => Some($name::$variant),)+ _ => None }
            }

            /// The value whose display name (or Rust name) matches, ignoring case and
            /// punctuation, or that is the only one starting so, so CLI users can write
            /// `ReRunJob`, `re-run job` or just `re-run` (`mar`, `-sun`).
            pub fn from_name(text: &str) -> Option<Self> {
                let wanted = normalize_name(text);
                if wanted.is_empty() || wanted == "-" {
                    return None;
                }
                let names = |v: &Self| [normalize_name(v.name()), normalize_name(&format!("{:?}", v))];
                if let Some(exact) = Self::ALL.iter().copied().find(|v| names(v).contains(&wanted)) {
                    return Some(exact);
                }
                let mut prefixed = Self::ALL.iter().copied().filter(|v| names(v).iter().any(|n| n.starts_with(&wanted)));
                match (prefixed.next(), prefixed.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&self.number(), s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = <$repr as serde::Deserialize>::deserialize(d)?;
                Self::from_number(n).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{} is not a defined {} value", n, stringify!($name)
                    ))
                })
            }
        }
    };
}

/// Lower-cases and drops everything but letters and digits (and a leading minus).
fn normalize_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c == '-' && i == 0 {
            out.push('-');
        }
    }
    out
}

value_map! {
    /// CIM_ConcreteJob.JobState: where the job is in its life.
    JobState: u16 {
        New = 2 => "New",
        Starting = 3 => "Starting",
        Running = 4 => "Running",
        Suspended = 5 => "Suspended",
        ShuttingDown = 6 => "Shutting Down",
        Completed = 7 => "Completed",
        Terminated = 8 => "Terminated",
        Killed = 9 => "Killed",
        Exception = 10 => "Exception",
        Service = 11 => "Service",
        QueryPending = 12 => "Query Pending",
    }
    reserved { "13..32767" => "DMTF Reserved", "32768..65535" => "Vendor Reserved" }
}

value_map! {
    /// The RequestedState parameter of CIM_ConcreteJob.RequestStateChange.
    RequestedState: u16 {
        Start = 2 => "Start",
        Suspend = 3 => "Suspend",
        Terminate = 4 => "Terminate",
        Kill = 5 => "Kill",
        Service = 6 => "Service",
    }
    reserved { "7..32767" => "DMTF Reserved", "32768..65535" => "Vendor Reserved" }
}

value_map! {
    /// The return value of RequestStateChange.
    StateChangeReturn: u32 {
        CompletedWithNoError = 0 => "Completed with No Error",
        NotSupported = 1 => "Not Supported",
        Unknown = 2 => "Unknown/Unspecified Error",
        CannotCompleteWithinTimeout = 3 => "Can NOT complete within Timeout Period",
        Failed = 4 => "Failed",
        InvalidParameter = 5 => "Invalid Parameter",
        InUse = 6 => "In Use",
        TransitionStarted = 4096 => "Method Parameters Checked - Transition Started",
        InvalidStateTransition = 4097 => "Invalid State Transition",
        TimeoutNotSupported = 4098 => "Use of Timeout Parameter Not Supported",
        Busy = 4099 => "Busy",
    }
    reserved { ".." => "DMTF Reserved", "4100..32767" => "Method Reserved", "32768..65535" => "Vendor Specific" }
}

value_map! {
    /// The return value of the deprecated CIM_Job.KillJob (its map has no 5 and no 4096).
    KillJobReturn: u32 {
        Success = 0 => "Success",
        NotSupported = 1 => "Not Supported",
        Unknown = 2 => "Unknown",
        Timeout = 3 => "Timeout",
        Failed = 4 => "Failed",
        AccessDenied = 6 => "Access Denied",
        NotFound = 7 => "Not Found",
    }
    reserved { ".." => "DMTF Reserved", "32768..65535" => "Vendor Specific" }
}

value_map! {
    /// The return value of CIMJOB_ConcreteJob.AnswerQuery (our method).
    AnswerReturn: u32 {
        Success = 0 => "Success",
        InvalidParameter = 5 => "Invalid Parameter",
        NotQueryPending = 4097 => "Job Is Not Waiting For An Answer",
    }
}

value_map! {
    /// CIM_ManagedSystemElement.OperationalStatus elements.
    OperationalStatus: u16 {
        Unknown = 0 => "Unknown",
        Other = 1 => "Other",
        Ok = 2 => "OK",
        Degraded = 3 => "Degraded",
        Stressed = 4 => "Stressed",
        PredictiveFailure = 5 => "Predictive Failure",
        Error = 6 => "Error",
        NonRecoverableError = 7 => "Non-Recoverable Error",
        Starting = 8 => "Starting",
        Stopping = 9 => "Stopping",
        Stopped = 10 => "Stopped",
        InService = 11 => "In Service",
        NoContact = 12 => "No Contact",
        LostCommunication = 13 => "Lost Communication",
        Aborted = 14 => "Aborted",
        Dormant = 15 => "Dormant",
        SupportingEntityInError = 16 => "Supporting Entity in Error",
        Completed = 17 => "Completed",
        PowerMode = 18 => "Power Mode",
        Relocating = 19 => "Relocating",
    }
    reserved { ".." => "DMTF Reserved", "0x8000.." => "Vendor Reserved" }
}

value_map! {
    /// CIM_ManagedSystemElement.HealthState.
    HealthState: u16 {
        Unknown = 0 => "Unknown",
        Ok = 5 => "OK",
        DegradedWarning = 10 => "Degraded/Warning",
        MinorFailure = 15 => "Minor failure",
        MajorFailure = 20 => "Major failure",
        CriticalFailure = 25 => "Critical failure",
        NonRecoverableError = 30 => "Non-recoverable error",
    }
    reserved { ".." => "DMTF Reserved", "32768..65535" => "Vendor Specific" }
}

value_map! {
    /// CIM_ManagedSystemElement.CommunicationStatus.
    CommunicationStatus: u16 {
        Unknown = 0 => "Unknown",
        NotAvailable = 1 => "Not Available",
        CommunicationOk = 2 => "Communication OK",
        LostCommunication = 3 => "Lost Communication",
        NoContact = 4 => "No Contact",
    }
    reserved { ".." => "DMTF Reserved", "0x8000.." => "Vendor Reserved" }
}

value_map! {
    /// CIM_ManagedSystemElement.DetailedStatus.
    DetailedStatus: u16 {
        NotAvailable = 0 => "Not Available",
        NoAdditionalInformation = 1 => "No Additional Information",
        Stressed = 2 => "Stressed",
        PredictiveFailure = 3 => "Predictive Failure",
        NonRecoverableError = 4 => "Non-Recoverable Error",
        SupportingEntityInError = 5 => "Supporting Entity in Error",
    }
    reserved { ".." => "DMTF Reserved", "0x8000.." => "Vendor Reserved" }
}

value_map! {
    /// CIM_ManagedSystemElement.OperatingStatus.
    OperatingStatus: u16 {
        Unknown = 0 => "Unknown",
        NotAvailable = 1 => "Not Available",
        Servicing = 2 => "Servicing",
        Starting = 3 => "Starting",
        Stopping = 4 => "Stopping",
        Stopped = 5 => "Stopped",
        Aborted = 6 => "Aborted",
        Dormant = 7 => "Dormant",
        Completed = 8 => "Completed",
        Migrating = 9 => "Migrating",
        Emigrating = 10 => "Emigrating",
        Immigrating = 11 => "Immigrating",
        Snapshotting = 12 => "Snapshotting",
        ShuttingDown = 13 => "Shutting Down",
        InTest = 14 => "In Test",
        Transitioning = 15 => "Transitioning",
        InService = 16 => "In Service",
    }
    reserved { ".." => "DMTF Reserved", "0x8000.." => "Vendor Reserved" }
}

value_map! {
    /// CIM_ManagedSystemElement.PrimaryStatus.
    PrimaryStatus: u16 {
        Unknown = 0 => "Unknown",
        Ok = 1 => "OK",
        Degraded = 2 => "Degraded",
        Error = 3 => "Error",
    }
    reserved { ".." => "DMTF Reserved", "0x8000.." => "Vendor Reserved" }
}

value_map! {
    /// CIM_Job.RecoveryAction: what happens when the work fails (a closed map).
    RecoveryAction: u16 {
        Unknown = 0 => "Unknown",
        Other = 1 => "Other",
        DoNotContinue = 2 => "Do Not Continue",
        ContinueWithNextJob = 3 => "Continue With Next Job",
        ReRunJob = 4 => "Re-run Job",
        RunRecoveryJob = 5 => "Run Recovery Job",
    }
}

value_map! {
    /// CIM_Job.LocalOrUtcTime: how RunStartInterval and UntilTime are read.
    LocalOrUtcTime: u16 {
        LocalTime = 1 => "Local Time",
        UtcTime = 2 => "UTC Time",
    }
}

value_map! {
    /// CIM_Job.RunMonth (0-based, as the MOF says).
    RunMonth: u8 {
        January = 0 => "January",
        February = 1 => "February",
        March = 2 => "March",
        April = 3 => "April",
        May = 4 => "May",
        June = 5 => "June",
        July = 6 => "July",
        August = 7 => "August",
        September = 8 => "September",
        October = 9 => "October",
        November = 10 => "November",
        December = 11 => "December",
    }
}

value_map! {
    /// CIM_Job.RunDayOfWeek: positive = on or after RunDay, negative = on or before.
    RunDayOfWeek: i8 {
        MinusSaturday = -7 => "-Saturday",
        MinusFriday = -6 => "-Friday",
        MinusThursday = -5 => "-Thursday",
        MinusWednesday = -4 => "-Wednesday",
        MinusTuesday = -3 => "-Tuesday",
        MinusMonday = -2 => "-Monday",
        MinusSunday = -1 => "-Sunday",
        ExactDayOfMonth = 0 => "ExactDayOfMonth",
        Sunday = 1 => "Sunday",
        Monday = 2 => "Monday",
        Tuesday = 3 => "Tuesday",
        Wednesday = 4 => "Wednesday",
        Thursday = 5 => "Thursday",
        Friday = 6 => "Friday",
        Saturday = 7 => "Saturday",
    }
}

value_map! {
    /// CIMJOB_ConcreteJob.MissedRunPolicy (our extension): what a restart does with a run
    /// whose time passed while the service was down.
    MissedRunPolicy: u16 {
        RunOnce = 2 => "Run Once",
        Skip = 3 => "Skip",
    }
}

value_map! {
    /// CIMJOB_ConcreteJob.OverlapPolicy (our extension): what an occurrence that comes while
    /// the previous run is still going does (Kubernetes' concurrencyPolicy).
    OverlapPolicy: u16 {
        Skip = 2 => "Skip",
        Queue = 3 => "Queue",
        Replace = 4 => "Replace",
    }
}

value_map! {
    /// CIMJOB_ConcreteJob ErrorCode values (CIM_Job.ErrorCode is vendor-specific; this is our table).
    JobErrorCode: u16 {
        NoError = 0 => "No error",
        NonZeroExit = 1 => "The command exited with a non-zero status (see ExitStatus)",
        EndedBySignal = 2 => "The command was ended by a signal nobody requested (see Signal)",
        StartFailed = 3 => "The command could not be started",
        ProcessLost = 4 => "The job's processes were lost while it ran (the machine restarted, or their supervisor died)",
        TerminatedByRequest = 5 => "Terminated by a RequestStateChange(Terminate) request",
        KilledByRequest = 6 => "Killed by a Kill or KillJob request",
        NodeLost = 7 => "The node that ran the job was lost (its lease on the shared database lapsed); another node ended the run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_map_arrays_are_parallel_and_match_numbers() {
        assert_eq!(JobState::VALUE_MAP.len(), JobState::VALUES.len());
        assert_eq!(JobState::VALUE_MAP[0], "2");
        assert_eq!(JobState::VALUE_MAP.last(), Some(&"32768..65535"));
        assert_eq!(RunDayOfWeek::VALUE_MAP[0], "-7");
        assert_eq!(RunDayOfWeek::VALUES[0], "-Saturday");
        for s in JobState::ALL {
            assert_eq!(JobState::from_number(s.number()), Some(*s));
        }
    }

    #[test]
    fn names_parse_loosely() {
        assert_eq!(
            RecoveryAction::from_name("re-run job"),
            Some(RecoveryAction::ReRunJob)
        );
        assert_eq!(
            RecoveryAction::from_name("ReRunJob"),
            Some(RecoveryAction::ReRunJob)
        );
        assert_eq!(
            RunDayOfWeek::from_name("-sunday"),
            Some(RunDayOfWeek::MinusSunday)
        );
        assert_eq!(
            RunDayOfWeek::from_name("sunday"),
            Some(RunDayOfWeek::Sunday)
        );
        assert_eq!(
            JobState::from_name("query pending"),
            Some(JobState::QueryPending)
        );
        assert_eq!(RecoveryAction::from_name("bogus"), None);
        assert_eq!(
            RecoveryAction::from_name("re-run"),
            Some(RecoveryAction::ReRunJob)
        );
        assert_eq!(RunMonth::from_name("mar"), Some(RunMonth::March));
        assert_eq!(RunMonth::from_name("ju"), None, "June or July");
        assert_eq!(
            RunDayOfWeek::from_name("-sun"),
            Some(RunDayOfWeek::MinusSunday)
        );
        assert_eq!(RunDayOfWeek::from_name("sun"), Some(RunDayOfWeek::Sunday));
        assert_eq!(RunDayOfWeek::from_name("-s"), None, "-Saturday or -Sunday");
        assert_eq!(RunDayOfWeek::from_name(""), None);
    }

    #[test]
    fn serde_uses_numbers() {
        assert_eq!(serde_json::to_string(&JobState::Killed).unwrap(), "9");
        let s: JobState = serde_json::from_str("12").unwrap();
        assert_eq!(s, JobState::QueryPending);
        assert!(serde_json::from_str::<JobState>("1").is_err());
    }
}
