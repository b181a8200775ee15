import Foundation
import Glibc
import Logging
import Synchronization

/// How a child process ended.
public enum ChildExit: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    case signalled(Int32)
    /// Reaped by someone else (SIGCHLD ignored, or another waitpid(-1) in the process).
    case unknown

    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7F
        self = signal == 0 ? .exited(code: (waitStatus >> 8) & 0xFF) : .signalled(signal)
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signalled(let signal): "signal \(signal)"
        case .unknown: "unknown status"
        }
    }
}

/// A child process for a supervised upstream.
///
/// - It is started with posix_spawn in its own process group, so that stopping it reaches whatever
///   it starts in turn (a shell, a server's workers); stdin is /dev/null and no other descriptor
///   of the gateway leaks into it; signal mask and dispositions are reset (the gateway ignores
///   SIGPIPE and handles SIGTERM itself, which a child would otherwise inherit).
/// - When util-linux `setpriv` exists, the command runs under `setpriv --pdeathsig KILL`, so the
///   child dies with the gateway even when the gateway is killed without a chance to stop it.
///   The parent-death signal follows the *thread* that spawned the child, so the child is spawned
///   by a dedicated thread that then waits for it and ends only after the child has exited.
/// - Every line of its stdout and stderr goes to a `ChildOutput` (for the supervisor: the logger).
///   Output is read by blocking reads on threads of its own, never by Dispatch sources: a pipe
///   registered with epoll whose descriptor is closed while another process still holds it keeps
///   delivering events for a source that no longer exists.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let exitState: ExitState

    private init(pid: pid_t, exitState: ExitState) {
        self.pid = pid
        self.exitState = exitState
    }

    /// Starts `command` (looked up on PATH when it has no slash) with exactly `environment`.
    public static func spawn(
        command: [String], workingDirectory: String = "", environment: [String: String], output: ChildOutput
    ) async throws -> ChildProcess {
        guard !command.isEmpty else { throw SpawnError(command: command, code: EINVAL) }
        let outputPipe = try PipePair(), errors = try PipePair()
        let exitState = ExitState()
        let argv = (SpawnLibc.setprivPath.map { [$0, "--pdeathsig", "KILL", "--"] } ?? []) + command
        let environment = environment.map { "\($0.key)=\($0.value)" }
        let pid: pid_t = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let result = Spawn.run(
                    argv: argv, environment: environment, workingDirectory: workingDirectory, stdout: outputPipe.write, stderr: errors.write)
                close(outputPipe.write)
                close(errors.write)
                switch result {
                case .failure(let failure):
                    close(outputPipe.read)
                    close(errors.read)
                    continuation.resume(throwing: SpawnError(command: command, code: failure.code))
                case .success(let pid):
                    continuation.resume(returning: pid)
                    exitState.finish(Spawn.waitForExit(pid))
                }
            }
            thread.name = "child-\(command[0])"
            thread.start()
        }
        OutputLines.pump(fd: outputPipe.read, to: output, stream: .stdout)
        OutputLines.pump(fd: errors.read, to: output, stream: .stderr)
        return ChildProcess(pid: pid, exitState: exitState)
    }

    public var exit: ChildExit? { exitState.status }
    public var hasExited: Bool { exit != nil }

    /// Waits for the exit; nil when the calling task is cancelled first.
    public func waitForExit() async -> ChildExit? { await exitState.wait() }

    /// Waits for the exit; nil when `timeout` passes (or the task is cancelled) first.
    public func waitForExit(timeout: Duration) async -> ChildExit? {
        await withTaskGroup(of: ChildExit?.self) { group in
            group.addTask { await self.exitState.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Sends `signal` to the child's process group (its own processes included).
    public func signal(_ signal: Int32) {
        guard !hasExited || kill(-pid, 0) == 0 else { return }
        if kill(-pid, signal) != 0 { _ = kill(pid, signal) }
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public let command: [String]
    public let code: Int32
    public var description: String { "cannot start \(command.joined(separator: " ")): \(String(cString: strerror(code)))" }
}

/// The exit status, once known, and the tasks waiting for it.
private final class ExitState: Sendable {
    private struct State {
        var status: ChildExit?
        var waiters: [Int: CheckedContinuation<ChildExit?, Never>] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    var status: ChildExit? { state.withLock { $0.status } }

    func finish(_ status: ChildExit) {
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    func wait() async -> ChildExit? {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ChildExit?, Never>) in
                let immediate: ChildExit?? = state.withLock { state in
                    if let status = state.status { return .some(status) }
                    if state.cancelled.remove(id) != nil { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil as CheckedContinuation<ChildExit?, Never>?
                }
                return waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

/// A pipe whose both ends are close-on-exec; the spawn duplicates the write end onto 1 or 2.
private struct PipePair: Sendable {
    let read: Int32
    let write: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard SpawnLibc.pipe2(&fds, O_CLOEXEC) == 0 else { throw SpawnError(command: [], code: errno) }
        read = fds[0]
        write = fds[1]
    }
}

private struct Errno: Error {
    let code: Int32
}

/// The posix_spawn call and the wait for its child.
private enum Spawn {
    /// Dispositions reset to the default in the child.
    static let defaultSignals = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM]

    static func run(argv: [String], environment: [String], workingDirectory: String, stdout: Int32, stderr: Int32) -> Result<pid_t, Errno> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        if !workingDirectory.isEmpty {
            guard let addChdir = SpawnLibc.addChdir else { return .failure(Errno(code: ENOSYS)) }
            let code = addChdir(&actions, workingDirectory)
            guard code == 0 else { return .failure(Errno(code: code)) }
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        if let addCloseFrom = SpawnLibc.addCloseFrom { _ = addCloseFrom(&actions, 3) }

        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in defaultSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        return code == 0 ? .success(pid) : .failure(Errno(code: code))
    }

    static func waitForExit(_ pid: pid_t) -> ChildExit {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, 0)
            if result == pid { return ChildExit(waitStatus: status) }
            if result == -1 && errno == EINTR { continue }
            return .unknown
        }
    }
}

/// glibc functions Swift's Glibc module does not show (they need _GNU_SOURCE), looked up once.
private enum SpawnLibc {
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let pipe2Function: Pipe2? = symbol("pipe2")

    static let setprivPath: String? = access("/usr/bin/setpriv", X_OK) == 0 ? "/usr/bin/setpriv" : nil

    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        if let pipe2Function { return pipe2Function(fds, flags) }
        guard pipe(fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return 0
    }

    private static func symbol<T>(_ name: String) -> T? {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(pointer, to: T.self)
    }
}

/// Which of a child's output streams a line came from.
public enum ChildStream: String, Sendable {
    case stdout, stderr
}

/// What a child writes, as it arrives.
public enum ChildOutputEvent: Sendable, Equatable {
    case line(String, ChildStream)
    /// The stream reached its end (the child, and everything it started, closed it).
    case closed(ChildStream)
}

/// Where a child's output goes. Called on the stream's reading thread: it must not block for long.
public struct ChildOutput: Sendable {
    let handle: @Sendable (ChildOutputEvent) -> Void

    public init(_ handle: @escaping @Sendable (ChildOutputEvent) -> Void) {
        self.handle = handle
    }

    /// Every line to `logger` at info level, with metadata `stream`.
    public static func logged(to logger: Logger) -> ChildOutput {
        ChildOutput { event in
            guard case .line(let text, let stream) = event else { return }
            logger.info("\(text)", metadata: ["stream": .string(stream.rawValue)])
        }
    }
}

/// Reads a child's output on a thread of its own and hands it on line by line.
private enum OutputLines {
    static let maximumLine = 16 * 1024

    static func pump(fd: Int32, to output: ChildOutput, stream: ChildStream) {
        let thread = Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                pending.append(contentsOf: buffer[0..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    emit(pending[..<newline], to: output, stream: stream)
                    pending.removeSubrange(...newline)
                }
                if pending.count >= maximumLine {
                    emit(pending[...], to: output, stream: stream)
                    pending.removeAll()
                }
            }
            if !pending.isEmpty { emit(pending[...], to: output, stream: stream) }
            close(fd)
            output.handle(.closed(stream))
        }
        thread.name = "child-output"
        thread.start()
    }

    private static func emit(_ bytes: ArraySlice<UInt8>, to output: ChildOutput, stream: ChildStream) {
        var line = bytes
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        output.handle(.line(String(decoding: line, as: UTF8.self), stream))
    }
}
