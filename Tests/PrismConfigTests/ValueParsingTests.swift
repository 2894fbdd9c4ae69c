@testable import PrismConfig
import Testing

@Suite("Value parsing")
struct ValueParsingTests {
    @Test(arguments: [
        ("100MB", Int64(100_000_000)), ("100MiB", Int64(100 << 20)), ("512", Int64(512)), ("1.5GB", Int64(1_500_000_000)),
        ("64 kib", Int64(65536)), ("2G", Int64(2_000_000_000)), ("10b", Int64(10)),
    ])
    func sizes(text: String, bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test func sizeFormatting() {
        #expect(ByteSize.format(32 << 20) == "32MiB")
        #expect(ByteSize.format(100_000_000) == "100MB")
        #expect(ByteSize.format(1000 + 1) == "1001B")
    }

    @Test func cronMatchesBusinessHours() throws {
        let cron = try CronSchedule.parse("0 9-17 * * MON-FRI").get()
        #expect(cron.matches(minute: 0, hour: 9, dayOfMonth: 3, month: 6, weekday: 1))
        #expect(!cron.matches(minute: 0, hour: 9, dayOfMonth: 3, month: 6, weekday: 0))
        #expect(!cron.matches(minute: 0, hour: 18, dayOfMonth: 3, month: 6, weekday: 2))
        #expect(!cron.matches(minute: 1, hour: 10, dayOfMonth: 3, month: 6, weekday: 2))
    }

    @Test func cronStepsListsAndNames() throws {
        let cron = try CronSchedule.parse("*/15 0,12 1-10/3 JAN,jul 7").get()
        #expect(cron.minutes == [0, 15, 30, 45])
        #expect(cron.hours == [0, 12])
        #expect(cron.daysOfMonth == [1, 4, 7, 10])
        #expect(cron.months == [1, 7])
        #expect(cron.daysOfWeek == [0])
        let from = try CronSchedule.parse("5/20 * * * *").get()
        #expect(from.minutes == [5, 25, 45])
    }

    @Test func cronDayFieldsCombineWithOrWhenBothRestricted() throws {
        let cron = try CronSchedule.parse("0 0 1 * MON").get()
        #expect(cron.matches(minute: 0, hour: 0, dayOfMonth: 1, month: 2, weekday: 4))
        #expect(cron.matches(minute: 0, hour: 0, dayOfMonth: 9, month: 2, weekday: 1))
        #expect(!cron.matches(minute: 0, hour: 0, dayOfMonth: 9, month: 2, weekday: 3))
    }

    @Test func hostPorts() throws {
        #expect(try HostPort.parse("[::1]:7000").get() == HostPort(host: "::1", port: 7000))
        #expect(try HostPort.parse("seed1:7946").get().description == "seed1:7946")
        #expect((try? HostPort.parse(":80").get()) == nil)
        #expect((try? HostPort.parse("host:http").get()) == nil)
    }
}
