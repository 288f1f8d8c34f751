package domain

// Reporting's read models count answers, points and coupons by day, touchpoint and store,
// and follow cases by case id. None of them names a member: an event's member id is
// dropped as the event is counted, and so are an answer's comment and the like. Erasing a
// member therefore changes no figure and no row here, and a member's export holds
// nothing but a note that says so.

// NoMemberData says, in a member's export, what reporting keeps and why none of it is
// the member's.
const NoMemberData = "reporting keeps figures by day, touchpoint, store and case; none of them names a member, so it holds nothing about this one"

// MemberData is everything reporting holds about one member: nothing, and a note that
// says so.
type MemberData struct {
	Note string
}
