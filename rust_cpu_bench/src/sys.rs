//! Hand-declared libc calls: std links libc on Unix, and no crate (not even `libc`) is reachable offline.
//!
//! Struct layouts are written out for 64-bit Linux (x86_64, aarch64: timespec/timeval are two i64s,
//! rusage is two timevals plus 14 longs). Elsewhere the CPU figures are None (JSON null).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by SIGTERM/SIGINT; workers poll it once per chunk.
pub static STOP: AtomicBool = AtomicBool::new(false);
/// Which signal asked us to stop (0: none), for the 128+N exit code.
pub static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// User and system CPU seconds of the process plus its reaped children.
#[derive(Clone, Copy)]
pub struct CpuTimes {
    pub user_s: f64,
    pub sys_s: f64,
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod imp {
    use super::CpuTimes;
    use std::os::raw::{c_int, c_long};

    #[repr(C)]
    struct Timespec {
        tv_sec: c_long,
        tv_nsec: c_long,
    }

    #[repr(C)]
    struct Timeval {
        tv_sec: c_long,
        tv_usec: c_long,
    }

    #[repr(C)]
    struct Rusage {
        ru_utime: Timeval,
        ru_stime: Timeval,
        // maxrss, ixrss, idrss, isrss, minflt, majflt, nswap, inblock, oublock, msgsnd, msgrcv,
        // nsignals, nvcsw, nivcsw: unused here, but they size the struct the kernel writes into.
        _rest: [c_long; 14],
    }

    const CLOCK_THREAD_CPUTIME_ID: c_int = 3;
    const RUSAGE_SELF: c_int = 0;
    const RUSAGE_CHILDREN: c_int = -1;

    extern "C" {
        fn clock_gettime(clock: c_int, tp: *mut Timespec) -> c_int;
        fn getrusage(who: c_int, usage: *mut Rusage) -> c_int;
    }

    pub fn thread_cpu_s() -> Option<f64> {
        let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: ts is a valid, writable timespec with the kernel's 64-bit Linux layout.
        let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            Some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
        } else {
            None
        }
    }

    fn rusage_of(who: c_int) -> Option<(f64, f64)> {
        let zero = Timeval { tv_sec: 0, tv_usec: 0 };
        let mut ru = Rusage { ru_utime: zero, ru_stime: Timeval { tv_sec: 0, tv_usec: 0 }, _rest: [0; 14] };
        // SAFETY: ru is a valid, writable rusage with the kernel's 64-bit Linux layout.
        let rc = unsafe { getrusage(who, &mut ru) };
        let secs = |tv: &Timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
        (rc == 0).then(|| (secs(&ru.ru_utime), secs(&ru.ru_stime)))
    }

    pub fn process_cpu() -> Option<CpuTimes> {
        let (su, ss) = rusage_of(RUSAGE_SELF)?;
        let (cu, cs) = rusage_of(RUSAGE_CHILDREN)?;
        Some(CpuTimes { user_s: su + cu, sys_s: ss + cs })
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
mod imp {
    use super::CpuTimes;

    pub fn thread_cpu_s() -> Option<f64> {
        None
    }

    pub fn process_cpu() -> Option<CpuTimes> {
        None
    }
}

pub use imp::{process_cpu, thread_cpu_s};

#[cfg(unix)]
mod sig {
    use super::{STOP, STOP_SIGNAL};
    use std::os::raw::c_int;
    use std::sync::atomic::Ordering;

    const SIGINT: c_int = 2;
    const SIGTERM: c_int = 15;

    extern "C" {
        // glibc's signal() installs a persistent, SA_RESTART handler (BSD semantics).
        fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
        fn getppid() -> c_int;
    }

    extern "C" fn on_stop_signal(signum: c_int) {
        // Async-signal-safe: lock-free atomic stores only.
        STOP_SIGNAL.store(signum, Ordering::SeqCst);
        STOP.store(true, Ordering::SeqCst);
    }

    pub fn install_stop_handlers() {
        // SAFETY: the handler only stores to static atomics, which is async-signal-safe.
        unsafe {
            signal(SIGTERM, on_stop_signal);
            signal(SIGINT, on_stop_signal);
        }
    }

    pub fn parent_pid() -> Option<i32> {
        // SAFETY: getppid has no preconditions and cannot fail.
        Some(unsafe { getppid() })
    }
}

#[cfg(not(unix))]
mod sig {
    pub fn install_stop_handlers() {}

    pub fn parent_pid() -> Option<i32> {
        None
    }
}

pub use sig::{install_stop_handlers, parent_pid};

/// True once a stop signal arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The signal that stopped us, if any.
pub fn stop_signal() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}
