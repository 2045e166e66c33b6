import Testing
@testable import Networks

@Suite struct ONNXLoadingTests {
    @Test func placeholder() {}
}
