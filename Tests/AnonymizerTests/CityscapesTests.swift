import Testing
@testable import Anonymizer

@Suite struct CityscapesTests {
    @Test func nineteenTrainClassesInOrder() {
        let names = Cityscapes.labelForTrainId.map(\.name)
        #expect(names.count == 19)
        #expect(names.first == "road" && names.last == "bicycle")
        #expect(Cityscapes.trainIdForLabelId[26] == 13)  // car
        #expect(Cityscapes.trainIdForLabelId[0] == 255)
        #expect(Cityscapes.trainIdForLabelId[200] == 255)
    }
}
