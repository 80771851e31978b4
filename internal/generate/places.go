package generate

// Names and places for generated people and organizations. The people are
// invented: names are drawn from lists of common US given names and
// surnames, addresses combine invented house numbers with common street
// names, and phone numbers use the 555-0100 to 555-0199 range that is
// reserved for fiction.

var femaleNames = []string{
	"Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
	"Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
	"Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Laura", "Sharon", "Cynthia", "Kathleen",
	"Amy", "Angela", "Anna", "Brenda", "Emma", "Olivia", "Sofia", "Isabella", "Mia", "Chloe",
	"Maria", "Guadalupe", "Mei", "Priya", "Aaliyah", "Zoe", "Grace", "Hannah", "Nora", "Renée",
}

var maleNames = []string{
	"James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Christopher",
	"Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew", "Paul", "Joshua",
	"Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason", "Edward", "Jeffrey", "Ryan",
	"Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Liam", "Noah", "Ethan", "Lucas", "Mason",
	"José", "Luis", "Wei", "Arjun", "DeShawn", "Malik", "Omar", "Samuel", "Henry", "Owen",
}

// lastNames include names with apostrophes, which exercise quoting in every
// output format.
var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"O'Brien", "O'Connor", "D'Angelo", "O'Neil", "McCarthy", "Kowalski", "Patel", "Chen", "Kim", "Schmidt",
}

var streetNames = []string{
	"Main", "Oak", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Pine",
	"Walnut", "Church", "Highland", "Ridge", "Spring", "Chestnut", "Prospect", "Franklin", "Jefferson", "Lincoln",
	"Madison", "Meadow", "Forest", "River", "Sunset", "Mill", "Center", "School", "Union", "Water",
}

var streetSuffixes = []string{"Street", "Avenue", "Road", "Drive", "Lane", "Court", "Place", "Boulevard", "Way", "Terrace"}

// city is a real US city with one of its ZIP codes, its county, its area
// code and approximate coordinates of its center in millionths of a degree.
type city struct {
	name      string
	state     string // USPS abbreviation
	stateName string
	county    string
	zip       string
	areaCode  string
	latitude  int
	longitude int
}

var cities = []city{
	{"Boston", "MA", "Massachusetts", "Suffolk County", "02118", "617", 42336000, -71072000},
	{"Worcester", "MA", "Massachusetts", "Worcester County", "01608", "508", 42262000, -71802000},
	{"Providence", "RI", "Rhode Island", "Providence County", "02903", "401", 41820000, -71412000},
	{"Hartford", "CT", "Connecticut", "Hartford County", "06103", "860", 41767000, -72674000},
	{"Portland", "ME", "Maine", "Cumberland County", "04101", "207", 43661000, -70255000},
	{"Burlington", "VT", "Vermont", "Chittenden County", "05401", "802", 44476000, -73212000},
	{"Newark", "NJ", "New Jersey", "Essex County", "07102", "973", 40736000, -74174000},
	{"Chicago", "IL", "Illinois", "Cook County", "60614", "312", 41922000, -87652000},
	{"Springfield", "IL", "Illinois", "Sangamon County", "62701", "217", 39799000, -89644000},
	{"Peoria", "IL", "Illinois", "Peoria County", "61602", "309", 40693000, -89589000},
	{"Columbus", "OH", "Ohio", "Franklin County", "43215", "614", 39962000, -83000000},
	{"Cleveland", "OH", "Ohio", "Cuyahoga County", "44113", "216", 41482000, -81698000},
	{"Indianapolis", "IN", "Indiana", "Marion County", "46204", "317", 39771000, -86158000},
	{"Detroit", "MI", "Michigan", "Wayne County", "48226", "313", 42331000, -83047000},
	{"Grand Rapids", "MI", "Michigan", "Kent County", "49503", "616", 42963000, -85668000},
	{"Milwaukee", "WI", "Wisconsin", "Milwaukee County", "53202", "414", 43045000, -87900000},
	{"Madison", "WI", "Wisconsin", "Dane County", "53703", "608", 43077000, -89384000},
	{"Minneapolis", "MN", "Minnesota", "Hennepin County", "55401", "612", 44984000, -93270000},
	{"Des Moines", "IA", "Iowa", "Polk County", "50309", "515", 41586000, -93625000},
	{"St. Louis", "MO", "Missouri", "St. Louis City", "63103", "314", 38631000, -90211000},
	{"Kansas City", "MO", "Missouri", "Jackson County", "64106", "816", 39104000, -94575000},
	{"Omaha", "NE", "Nebraska", "Douglas County", "68102", "402", 41258000, -95934000},
	{"Louisville", "KY", "Kentucky", "Jefferson County", "40202", "502", 38254000, -85759000},
	{"Nashville", "TN", "Tennessee", "Davidson County", "37203", "615", 36151000, -86790000},
}

// Demographic categories, with their relative weights, in the codes Synthea
// exports use.
var (
	races       = []weighted[string]{{"white", 600}, {"black", 130}, {"asian", 60}, {"native", 10}, {"hawaiian", 5}, {"other", 195}}
	ethnicities = []weighted[string]{{"nonhispanic", 810}, {"hispanic", 190}}
)

// weighted is a value with its relative frequency.
type weighted[T any] struct {
	value  T
	weight int
}
