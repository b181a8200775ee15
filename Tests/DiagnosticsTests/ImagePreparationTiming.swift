import Foundation
import Testing

@testable import DiagnosticsService

/// How long §8.1 preparation takes for typical large uploads. Not a pass/fail test (timings depend
/// on the machine and the build); opt in with
/// `MYSEHAT_IMAGE_TIMING=1 swift test --skip-build --filter ImagePreparationTiming` (debug), or
/// `MYSEHAT_IMAGE_TIMING=1 swift test -c release --filter ImagePreparationTiming` for optimised
/// code (`swift test` builds release with testable imports; `swift build -c release` does not).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MYSEHAT_IMAGE_TIMING"] != nil))
struct ImagePreparationTiming {
    @Test func largePhotos() throws {
        let jpeg = try EncodedImages.jpeg(EncodedImages.pattern(width: 3000, height: 2000))
        let png = EncodedImages.png(samples: EncodedImages.pattern(width: 4000, height: 3000).pixels, width: 4000, height: 3000, color: .rgb)
        for (name, file) in [("3000x2000 JPEG", jpeg), ("4000x3000 PNG", png)] {
            var times: [Duration] = []
            var prepared: PreparedImage?
            for _ in 0..<7 {
                let start = ContinuousClock.now
                prepared = try ImagePreparer.prepareNow(file)
                times.append(ContinuousClock.now - start)
            }
            let median = times.sorted()[times.count / 2]
            let info = try #require(prepared?.info)
            print("prepare \(name) (\(file.count) bytes) -> \(info.width)x\(info.height) JPEG (\(prepared?.bytes.count ?? 0) bytes): median \(median.formatted(.units(allowed: [.milliseconds], fractionalPart: .show(length: 1)))) of \(times.count)")
        }
    }
}
