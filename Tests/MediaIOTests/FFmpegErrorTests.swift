import Testing
@testable import MediaIO

@Suite struct FFmpegErrorTests {
    @Test func messagesNameFileOperationAndCause() {
        let e = FFmpegError(code: FFmpegError.invalidData, operation: "open input", path: "/x/clip.mp4")
        #expect(e.description.hasPrefix("/x/clip.mp4: open input: "))
        #expect(e.description.contains("Invalid data"))
    }
}
