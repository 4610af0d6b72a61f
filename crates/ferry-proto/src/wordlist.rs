//! The PGP word list, which wormhole codes are made of.
//!
//! Each byte value maps to a two-syllable "even" word and a three-syllable "odd"
//! word (<https://en.wikipedia.org/wiki/PGP_word_list>). Codes alternate between
//! the two columns so that a dropped or swapped word is easy to notice. Like every
//! wormhole client we use the words in lower case; the published list capitalises
//! proper nouns (`Zulu`, `Yucatan`).

/// `(even, odd)` word for each byte value: the even word has two syllables, the
/// odd word three. Lower case, indexed by the byte.
pub const WORDS: [(&str, &str); 256] = [
    ("aardvark", "adroitness"),   // 0x00
    ("absurd", "adviser"),        // 0x01
    ("accrue", "aftermath"),      // 0x02
    ("acme", "aggregate"),        // 0x03
    ("adrift", "alkali"),         // 0x04
    ("adult", "almighty"),        // 0x05
    ("afflict", "amulet"),        // 0x06
    ("ahead", "amusement"),       // 0x07
    ("aimless", "antenna"),       // 0x08
    ("algol", "applicant"),       // 0x09
    ("allow", "apollo"),          // 0x0a
    ("alone", "armistice"),       // 0x0b
    ("ammo", "article"),          // 0x0c
    ("ancient", "asteroid"),      // 0x0d
    ("apple", "atlantic"),        // 0x0e
    ("artist", "atmosphere"),     // 0x0f
    ("assume", "autopsy"),        // 0x10
    ("athens", "babylon"),        // 0x11
    ("atlas", "backwater"),       // 0x12
    ("aztec", "barbecue"),        // 0x13
    ("baboon", "belowground"),    // 0x14
    ("backfield", "bifocals"),    // 0x15
    ("backward", "bodyguard"),    // 0x16
    ("banjo", "bookseller"),      // 0x17
    ("beaming", "borderline"),    // 0x18
    ("bedlamp", "bottomless"),    // 0x19
    ("beehive", "bradbury"),      // 0x1a
    ("beeswax", "bravado"),       // 0x1b
    ("befriend", "brazilian"),    // 0x1c
    ("belfast", "breakaway"),     // 0x1d
    ("berserk", "burlington"),    // 0x1e
    ("billiard", "businessman"),  // 0x1f
    ("bison", "butterfat"),       // 0x20
    ("blackjack", "camelot"),     // 0x21
    ("blockade", "candidate"),    // 0x22
    ("blowtorch", "cannonball"),  // 0x23
    ("bluebird", "capricorn"),    // 0x24
    ("bombast", "caravan"),       // 0x25
    ("bookshelf", "caretaker"),   // 0x26
    ("brackish", "celebrate"),    // 0x27
    ("breadline", "cellulose"),   // 0x28
    ("breakup", "certify"),       // 0x29
    ("brickyard", "chambermaid"), // 0x2a
    ("briefcase", "cherokee"),    // 0x2b
    ("burbank", "chicago"),       // 0x2c
    ("button", "clergyman"),      // 0x2d
    ("buzzard", "coherence"),     // 0x2e
    ("cement", "combustion"),     // 0x2f
    ("chairlift", "commando"),    // 0x30
    ("chatter", "company"),       // 0x31
    ("checkup", "component"),     // 0x32
    ("chisel", "concurrent"),     // 0x33
    ("choking", "confidence"),    // 0x34
    ("chopper", "conformist"),    // 0x35
    ("christmas", "congregate"),  // 0x36
    ("clamshell", "consensus"),   // 0x37
    ("classic", "consulting"),    // 0x38
    ("classroom", "corporate"),   // 0x39
    ("cleanup", "corrosion"),     // 0x3a
    ("clockwork", "councilman"),  // 0x3b
    ("cobra", "crossover"),       // 0x3c
    ("commence", "crucifix"),     // 0x3d
    ("concert", "cumbersome"),    // 0x3e
    ("cowbell", "customer"),      // 0x3f
    ("crackdown", "dakota"),      // 0x40
    ("cranky", "decadence"),      // 0x41
    ("crowfoot", "december"),     // 0x42
    ("crucial", "decimal"),       // 0x43
    ("crumpled", "designing"),    // 0x44
    ("crusade", "detector"),      // 0x45
    ("cubic", "detergent"),       // 0x46
    ("dashboard", "determine"),   // 0x47
    ("deadbolt", "dictator"),     // 0x48
    ("deckhand", "dinosaur"),     // 0x49
    ("dogsled", "direction"),     // 0x4a
    ("dragnet", "disable"),       // 0x4b
    ("drainage", "disbelief"),    // 0x4c
    ("dreadful", "disruptive"),   // 0x4d
    ("drifter", "distortion"),    // 0x4e
    ("dropper", "document"),      // 0x4f
    ("drumbeat", "embezzle"),     // 0x50
    ("drunken", "enchanting"),    // 0x51
    ("dupont", "enrollment"),     // 0x52
    ("dwelling", "enterprise"),   // 0x53
    ("eating", "equation"),       // 0x54
    ("edict", "equipment"),       // 0x55
    ("egghead", "escapade"),      // 0x56
    ("eightball", "eskimo"),      // 0x57
    ("endorse", "everyday"),      // 0x58
    ("endow", "examine"),         // 0x59
    ("enlist", "existence"),      // 0x5a
    ("erase", "exodus"),          // 0x5b
    ("escape", "fascinate"),      // 0x5c
    ("exceed", "filament"),       // 0x5d
    ("eyeglass", "finicky"),      // 0x5e
    ("eyetooth", "forever"),      // 0x5f
    ("facial", "fortitude"),      // 0x60
    ("fallout", "frequency"),     // 0x61
    ("flagpole", "gadgetry"),     // 0x62
    ("flatfoot", "galveston"),    // 0x63
    ("flytrap", "getaway"),       // 0x64
    ("fracture", "glossary"),     // 0x65
    ("framework", "gossamer"),    // 0x66
    ("freedom", "graduate"),      // 0x67
    ("frighten", "gravity"),      // 0x68
    ("gazelle", "guitarist"),     // 0x69
    ("geiger", "hamburger"),      // 0x6a
    ("glitter", "hamilton"),      // 0x6b
    ("glucose", "handiwork"),     // 0x6c
    ("goggles", "hazardous"),     // 0x6d
    ("goldfish", "headwaters"),   // 0x6e
    ("gremlin", "hemisphere"),    // 0x6f
    ("guidance", "hesitate"),     // 0x70
    ("hamlet", "hideaway"),       // 0x71
    ("highchair", "holiness"),    // 0x72
    ("hockey", "hurricane"),      // 0x73
    ("indoors", "hydraulic"),     // 0x74
    ("indulge", "impartial"),     // 0x75
    ("inverse", "impetus"),       // 0x76
    ("involve", "inception"),     // 0x77
    ("island", "indigo"),         // 0x78
    ("jawbone", "inertia"),       // 0x79
    ("keyboard", "infancy"),      // 0x7a
    ("kickoff", "inferno"),       // 0x7b
    ("kiwi", "informant"),        // 0x7c
    ("klaxon", "insincere"),      // 0x7d
    ("locale", "insurgent"),      // 0x7e
    ("lockup", "integrate"),      // 0x7f
    ("merit", "intention"),       // 0x80
    ("minnow", "inventive"),      // 0x81
    ("miser", "istanbul"),        // 0x82
    ("mohawk", "jamaica"),        // 0x83
    ("mural", "jupiter"),         // 0x84
    ("music", "leprosy"),         // 0x85
    ("necklace", "letterhead"),   // 0x86
    ("neptune", "liberty"),       // 0x87
    ("newborn", "maritime"),      // 0x88
    ("nightbird", "matchmaker"),  // 0x89
    ("oakland", "maverick"),      // 0x8a
    ("obtuse", "medusa"),         // 0x8b
    ("offload", "megaton"),       // 0x8c
    ("optic", "microscope"),      // 0x8d
    ("orca", "microwave"),        // 0x8e
    ("payday", "midsummer"),      // 0x8f
    ("peachy", "millionaire"),    // 0x90
    ("pheasant", "miracle"),      // 0x91
    ("physique", "misnomer"),     // 0x92
    ("playhouse", "molasses"),    // 0x93
    ("pluto", "molecule"),        // 0x94
    ("preclude", "montana"),      // 0x95
    ("prefer", "monument"),       // 0x96
    ("preshrunk", "mosquito"),    // 0x97
    ("printer", "narrative"),     // 0x98
    ("prowler", "nebula"),        // 0x99
    ("pupil", "newsletter"),      // 0x9a
    ("puppy", "norwegian"),       // 0x9b
    ("python", "october"),        // 0x9c
    ("quadrant", "ohio"),         // 0x9d
    ("quiver", "onlooker"),       // 0x9e
    ("quota", "opulent"),         // 0x9f
    ("ragtime", "orlando"),       // 0xa0
    ("ratchet", "outfielder"),    // 0xa1
    ("rebirth", "pacific"),       // 0xa2
    ("reform", "pandemic"),       // 0xa3
    ("regain", "pandora"),        // 0xa4
    ("reindeer", "paperweight"),  // 0xa5
    ("rematch", "paragon"),       // 0xa6
    ("repay", "paragraph"),       // 0xa7
    ("retouch", "paramount"),     // 0xa8
    ("revenge", "passenger"),     // 0xa9
    ("reward", "pedigree"),       // 0xaa
    ("rhythm", "pegasus"),        // 0xab
    ("ribcage", "penetrate"),     // 0xac
    ("ringbolt", "perceptive"),   // 0xad
    ("robust", "performance"),    // 0xae
    ("rocker", "pharmacy"),       // 0xaf
    ("ruffled", "phonetic"),      // 0xb0
    ("sailboat", "photograph"),   // 0xb1
    ("sawdust", "pioneer"),       // 0xb2
    ("scallion", "pocketful"),    // 0xb3
    ("scenic", "politeness"),     // 0xb4
    ("scorecard", "positive"),    // 0xb5
    ("scotland", "potato"),       // 0xb6
    ("seabird", "processor"),     // 0xb7
    ("select", "provincial"),     // 0xb8
    ("sentence", "proximate"),    // 0xb9
    ("shadow", "puberty"),        // 0xba
    ("shamrock", "publisher"),    // 0xbb
    ("showgirl", "pyramid"),      // 0xbc
    ("skullcap", "quantity"),     // 0xbd
    ("skydive", "racketeer"),     // 0xbe
    ("slingshot", "rebellion"),   // 0xbf
    ("slowdown", "recipe"),       // 0xc0
    ("snapline", "recover"),      // 0xc1
    ("snapshot", "repellent"),    // 0xc2
    ("snowcap", "replica"),       // 0xc3
    ("snowslide", "reproduce"),   // 0xc4
    ("solo", "resistor"),         // 0xc5
    ("southward", "responsive"),  // 0xc6
    ("soybean", "retraction"),    // 0xc7
    ("spaniel", "retrieval"),     // 0xc8
    ("spearhead", "retrospect"),  // 0xc9
    ("spellbind", "revenue"),     // 0xca
    ("spheroid", "revival"),      // 0xcb
    ("spigot", "revolver"),       // 0xcc
    ("spindle", "sandalwood"),    // 0xcd
    ("spyglass", "sardonic"),     // 0xce
    ("stagehand", "saturday"),    // 0xcf
    ("stagnate", "savagery"),     // 0xd0
    ("stairway", "scavenger"),    // 0xd1
    ("standard", "sensation"),    // 0xd2
    ("stapler", "sociable"),      // 0xd3
    ("steamship", "souvenir"),    // 0xd4
    ("sterling", "specialist"),   // 0xd5
    ("stockman", "speculate"),    // 0xd6
    ("stopwatch", "stethoscope"), // 0xd7
    ("stormy", "stupendous"),     // 0xd8
    ("sugar", "supportive"),      // 0xd9
    ("surmount", "surrender"),    // 0xda
    ("suspense", "suspicious"),   // 0xdb
    ("sweatband", "sympathy"),    // 0xdc
    ("swelter", "tambourine"),    // 0xdd
    ("tactics", "telephone"),     // 0xde
    ("talon", "therapist"),       // 0xdf
    ("tapeworm", "tobacco"),      // 0xe0
    ("tempest", "tolerance"),     // 0xe1
    ("tiger", "tomorrow"),        // 0xe2
    ("tissue", "torpedo"),        // 0xe3
    ("tonic", "tradition"),       // 0xe4
    ("topmost", "travesty"),      // 0xe5
    ("tracker", "trombonist"),    // 0xe6
    ("transit", "truncated"),     // 0xe7
    ("trauma", "typewriter"),     // 0xe8
    ("treadmill", "ultimate"),    // 0xe9
    ("trojan", "undaunted"),      // 0xea
    ("trouble", "underfoot"),     // 0xeb
    ("tumor", "unicorn"),         // 0xec
    ("tunnel", "unify"),          // 0xed
    ("tycoon", "universe"),       // 0xee
    ("uncut", "unravel"),         // 0xef
    ("unearth", "upcoming"),      // 0xf0
    ("unwind", "vacancy"),        // 0xf1
    ("uproot", "vagabond"),       // 0xf2
    ("upset", "vertigo"),         // 0xf3
    ("upshot", "virginia"),       // 0xf4
    ("vapor", "visitor"),         // 0xf5
    ("village", "vocalist"),      // 0xf6
    ("virus", "voyager"),         // 0xf7
    ("vulcan", "warranty"),       // 0xf8
    ("waffle", "waterloo"),       // 0xf9
    ("wallet", "whimsical"),      // 0xfa
    ("watchword", "wichita"),     // 0xfb
    ("wayside", "wilmington"),    // 0xfc
    ("willow", "wyoming"),        // 0xfd
    ("woodlark", "yesteryear"),   // 0xfe
    ("zulu", "yucatan"),          // 0xff
];

/// The words that may stand at `position` (0-based) in the password part of a
/// code.
///
/// Position 0, 2, 4… takes the three-syllable "odd" column and position 1, 3, 5…
/// the two-syllable "even" column, as Python's `PGPWordList.choose_words` does
/// (Go and Rust agree).
pub fn column(position: usize) -> impl Iterator<Item = &'static str> {
    WORDS.iter().map(move |&(even, odd)| {
        if position.is_multiple_of(2) {
            odd
        } else {
            even
        }
    })
}

/// The word that encodes `byte` at `position` in the password part of a code.
pub fn word(position: usize, byte: u8) -> &'static str {
    let (even, odd) = WORDS[usize::from(byte)];
    if position.is_multiple_of(2) {
        odd
    } else {
        even
    }
}

/// Whether `word` is on the list, in either column, in any case.
pub fn is_word(word: &str) -> bool {
    WORDS
        .iter()
        .any(|&(even, odd)| even.eq_ignore_ascii_case(word) || odd.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn first_and_last_entries() {
        assert_eq!(WORDS[0], ("aardvark", "adroitness"));
        assert_eq!(WORDS[255], ("zulu", "yucatan"));
    }

    #[test]
    fn words_are_unique_lowercase_ascii() {
        let all: Vec<&str> = WORDS.iter().flat_map(|&(e, o)| [e, o]).collect();
        let distinct: HashSet<&str> = all.iter().copied().collect();
        assert_eq!(distinct.len(), 512);
        for w in all {
            assert!(w.bytes().all(|b| b.is_ascii_lowercase()), "{w}");
        }
    }

    #[test]
    fn is_word_ignores_case_and_column() {
        assert!(is_word("zulu") && is_word("Yucatan") && is_word("GUITARIST"));
        assert!(!is_word("guitarst") && !is_word("") && !is_word("zulu-"));
    }

    #[test]
    fn position_decides_the_column() {
        assert_eq!(word(0, 0), "adroitness");
        assert_eq!(word(1, 0), "aardvark");
        assert_eq!(word(2, 0xff), "yucatan");
        assert_eq!(column(0).next(), Some("adroitness"));
        assert_eq!(column(3).last(), Some("zulu"));
    }

    /// The generator script copies Python's `_wordlist.raw_words` into the vectors.
    #[test]
    fn matches_python_wordlist() {
        let kat = crate::test_vectors::kat();
        let python = kat["wordlist"].as_array().expect("wordlist array");
        assert_eq!(python.len(), 256);
        for (i, pair) in python.iter().enumerate() {
            let even = pair[0].as_str().expect("even word").to_lowercase();
            let odd = pair[1].as_str().expect("odd word").to_lowercase();
            assert_eq!(WORDS[i], (even.as_str(), odd.as_str()), "byte {i:#04x}");
        }
    }
}
