"""The demo shop's catalog and shoppers, as data: categories, items, complements, consumables and personas."""

from dataclasses import dataclass

CATEGORIES: tuple[tuple[str, str, str], ...] = (
    # category_id, parent_id, name
    ("sports", "", "Sports"),
    ("running-shoes", "sports", "Running shoes"),
    ("running-clothes", "sports", "Running clothes"),
    ("fitness", "sports", "Fitness"),
    ("kitchen", "", "Kitchen"),
    ("coffee-machines", "kitchen", "Coffee machines"),
    ("cookware", "kitchen", "Cookware"),
    ("knives-utensils", "kitchen", "Knives and utensils"),
    ("electronics", "", "Electronics"),
    ("tv", "electronics", "TVs"),
    ("tv-accessories", "electronics", "TV accessories"),
    ("headphones", "electronics", "Headphones"),
    ("printers", "electronics", "Printers"),
    ("printer-ink", "electronics", "Printer ink and paper"),
    ("grocery", "", "Grocery"),
    ("coffee", "grocery", "Coffee"),
    ("tea", "grocery", "Tea"),
    ("snacks", "grocery", "Snacks"),
    ("pets", "", "Pets"),
    ("dog-food", "pets", "Dog food"),
    ("dog-accessories", "pets", "Dog accessories"),
    ("home", "", "Home"),
    ("bedding", "home", "Bedding"),
    ("lighting", "home", "Lighting"),
    ("garden", "", "Garden"),
    ("garden-tools", "garden", "Garden tools"),
    ("plants-seeds", "garden", "Plants and seeds"),
    ("books", "", "Books"),
    ("fiction", "books", "Fiction"),
    ("cookbooks", "books", "Cookbooks"),
    ("travel-guides", "books", "Travel guides"),
)

ITEMS: dict[str, tuple[tuple[str, str, float], ...]] = {
    # leaf category -> (item_id, title, price), bestsellers first
    "running-shoes": (
        ("shoe-road-01", "Road running shoes", 99.00),
        ("shoe-road-02", "Cushioned road running shoes", 139.00),
        ("shoe-trail-01", "Trail running shoes", 119.00),
        ("shoe-road-03", "Lightweight road running shoes", 89.00),
        ("shoe-trail-02", "Waterproof trail running shoes", 149.00),
        ("shoe-road-04", "Stability running shoes", 129.00),
        ("shoe-race-01", "Carbon racing shoes", 219.00),
        ("shoe-trail-03", "Minimalist trail shoes", 109.00),
        ("shoe-kids-01", "Kids' running shoes", 49.00),
        ("shoe-spikes-01", "Track spikes", 79.00),
    ),
    "running-clothes": (
        ("socks-run-3pack", "Running socks (3 pack)", 14.90),
        ("shirt-run-01", "Running shirt", 24.90),
        ("shorts-run-01", "Running shorts", 29.90),
        ("tights-run-01", "Running tights", 39.90),
        ("jacket-run-01", "Lightweight running jacket", 69.00),
        ("shirt-run-02", "Long-sleeve running shirt", 34.90),
        ("socks-trail-2pack", "Trail socks (2 pack)", 16.90),
        ("cap-run-01", "Running cap", 19.90),
        ("gloves-run-01", "Running gloves", 17.90),
        ("vest-run-01", "Hydration vest", 59.00),
    ),
    "fitness": (
        ("yoga-mat", "Yoga mat", 24.90),
        ("foam-roller", "Foam roller", 19.90),
        ("resistance-bands", "Resistance bands (set of 5)", 15.90),
        ("dumbbells-2x5kg", "Dumbbells 2 x 5 kg", 44.90),
        ("kettlebell-12kg", "Kettlebell 12 kg", 39.90),
        ("jump-rope", "Jump rope", 9.90),
        ("water-bottle-750", "Sports water bottle 750 ml", 12.90),
        ("gym-bag", "Gym bag", 34.90),
    ),
    "coffee-machines": (
        ("espresso-machine-01", "Espresso machine", 349.00),
        ("espresso-machine-02", "Bean-to-cup coffee machine", 599.00),
        ("coffee-grinder", "Burr coffee grinder", 89.00),
        ("filter-coffee-maker", "Filter coffee maker", 59.00),
        ("moka-pot-6", "Moka pot (6 cups)", 34.90),
        ("french-press-1l", "French press 1 l", 29.90),
        ("milk-frother", "Milk frother", 49.00),
    ),
    "cookware": (
        ("pan-28cm", "Non-stick frying pan 28 cm", 39.90),
        ("skillet-cast-iron", "Cast iron skillet 26 cm", 49.90),
        ("saucepan-set-3", "Saucepan set (3 pieces)", 89.00),
        ("stock-pot-8l", "Stock pot 8 l", 44.90),
        ("dutch-oven-5l", "Dutch oven 5 l", 119.00),
        ("wok-32cm", "Carbon steel wok 32 cm", 34.90),
        ("baking-sheet-2", "Baking sheets (2 pack)", 19.90),
        ("roasting-tin", "Roasting tin", 24.90),
        ("pan-set-3", "Frying pan set (3 pieces)", 79.00),
    ),
    "knives-utensils": (
        ("knife-chef-20cm", "Chef's knife 20 cm", 59.00),
        ("cutting-board-oak", "Oak cutting board", 34.90),
        ("spatula-silicone", "Silicone spatula", 8.90),
        ("wooden-spoons-3", "Wooden spoons (3 pack)", 9.90),
        ("knife-block-5", "Knife block with 5 knives", 129.00),
        ("knife-sharpener", "Knife sharpener", 24.90),
        ("tongs-kitchen", "Kitchen tongs", 11.90),
        ("whisk-steel", "Stainless steel whisk", 7.90),
        ("knife-paring", "Paring knife", 19.90),
    ),
    "tv": (
        ("tv-55-4k", '55" 4K TV', 549.00),
        ("tv-65-4k", '65" 4K TV', 799.00),
        ("tv-43-fhd", '43" Full HD TV', 329.00),
        ("tv-55-oled", '55" OLED TV', 1199.00),
        ("tv-75-4k", '75" 4K TV', 1299.00),
        ("tv-65-oled", '65" OLED TV', 1799.00),
        ("tv-32-hd", '32" HD TV', 199.00),
    ),
    "tv-accessories": (
        ("hdmi-cable-2m", "HDMI cable 2 m", 12.90),
        ("wall-mount-tv", "TV wall mount", 39.90),
        ("soundbar-01", "Soundbar", 199.00),
        ("hdmi-cable-5m", "HDMI cable 5 m", 19.90),
        ("wall-mount-tilt", "Tilting TV wall mount", 49.90),
        ("streaming-stick", "Streaming stick", 49.00),
        ("remote-universal", "Universal remote", 24.90),
        ("screen-cleaner", "Screen cleaning kit", 9.90),
    ),
    "headphones": (
        ("headphones-nc", "Noise-cancelling headphones", 249.00),
        ("earbuds-wireless", "Wireless earbuds", 99.00),
        ("earbuds-sport", "Sports earbuds", 59.00),
        ("headset-office", "Office headset with microphone", 69.00),
        ("headphones-kids", "Kids' headphones", 29.90),
        ("headphones-studio", "Studio headphones", 149.00),
    ),
    "printers": (
        ("printer-inkjet-aio", "All-in-one inkjet printer", 129.00),
        ("printer-laser-mono", "Mono laser printer", 179.00),
        ("printer-inkjet", "Inkjet printer", 79.00),
        ("printer-laser-color", "Colour laser printer", 349.00),
        ("printer-photo", "Photo printer", 149.00),
    ),
    "printer-ink": (
        ("ink-black-xl", "Black ink cartridge XL", 29.90),
        ("ink-colour", "Colour ink cartridge", 34.90),
        ("ink-multipack", "Ink multipack (4 colours)", 59.90),
        ("paper-a4-500", "Printer paper A4 (500 sheets)", 6.90),
        ("toner-black", "Black toner cartridge", 69.00),
        ("paper-photo-50", "Photo paper (50 sheets)", 14.90),
    ),
    "coffee": (
        ("coffee-colombia-1kg", "Colombian coffee beans 1 kg", 21.90),
        ("coffee-espresso-1kg", "Espresso blend beans 1 kg", 19.90),
        ("coffee-ethiopia-1kg", "Ethiopian coffee beans 1 kg", 24.90),
        ("coffee-brazil-500g", "Brazilian coffee beans 500 g", 11.90),
        ("coffee-house-1kg", "House blend coffee beans 1 kg", 16.90),
        ("coffee-ground-500g", "Ground filter coffee 500 g", 8.90),
        ("coffee-guatemala-1kg", "Guatemalan coffee beans 1 kg", 23.90),
        ("coffee-decaf-500g", "Decaf coffee beans 500 g", 12.90),
        ("coffee-kenya-500g", "Kenyan coffee beans 500 g", 14.90),
        ("coffee-capsules-50", "Coffee capsules (50 pack)", 17.90),
    ),
    "tea": (
        ("tea-english-breakfast-80", "English breakfast tea (80 bags)", 5.90),
        ("tea-green-sencha-100g", "Green sencha tea 100 g", 7.90),
        ("tea-earl-grey-50", "Earl grey tea (50 bags)", 4.90),
        ("tea-chamomile-20", "Chamomile tea (20 bags)", 3.50),
        ("tea-rooibos-100g", "Rooibos tea 100 g", 6.50),
        ("tea-chai-200g", "Chai tea 200 g", 9.90),
        ("tea-mint-20", "Peppermint tea (20 bags)", 3.50),
        ("tea-oolong-100g", "Oolong tea 100 g", 11.90),
    ),
    "snacks": (
        ("chocolate-dark-100g", "Dark chocolate 100 g", 2.90),
        ("almonds-salted-200g", "Salted almonds 200 g", 4.50),
        ("granola-750g", "Granola 750 g", 5.90),
        ("energy-bars-12", "Energy bars (12 pack)", 14.90),
        ("cookies-oat-300g", "Oat cookies 300 g", 3.90),
        ("mango-dried-200g", "Dried mango 200 g", 4.90),
    ),
    "dog-food": (
        ("dogfood-adult-12kg", "Dry dog food adult 12 kg", 49.90),
        ("dogfood-grainfree-10kg", "Grain-free dog food 10 kg", 64.90),
        ("dogfood-wet-12", "Wet dog food (12 cans)", 19.90),
        ("dogfood-puppy-3kg", "Puppy food 3 kg", 21.90),
        ("dogfood-senior-7kg", "Senior dog food 7 kg", 39.90),
        ("dog-treats-500g", "Dog treats 500 g", 8.90),
        ("dog-dental-chews-28", "Dental chews (28 pack)", 15.90),
    ),
    "dog-accessories": (
        ("dog-lead", "Dog lead 2 m", 14.90),
        ("dog-bed-m", "Dog bed (medium)", 49.90),
        ("dog-harness", "Dog harness", 24.90),
        ("dog-bowls-2", "Stainless steel dog bowls (2 pack)", 12.90),
        ("dog-chew-toy", "Dog chew toy", 7.90),
        ("dog-poop-bags-120", "Poop bags (120 pack)", 5.90),
        ("dog-brush", "Dog brush", 11.90),
    ),
    "bedding": (
        ("duvet-cover-cotton", "Cotton duvet cover 200 x 200 cm", 49.90),
        ("pillow-memory-foam", "Memory foam pillow", 39.90),
        ("sheet-fitted-160", "Fitted sheet 160 x 200 cm", 24.90),
        ("duvet-winter", "Winter duvet 200 x 200 cm", 89.00),
        ("throw-blanket", "Knitted throw blanket", 34.90),
        ("mattress-topper-160", "Mattress topper 160 x 200 cm", 119.00),
    ),
    "lighting": (
        ("led-bulbs-e27-4", "LED bulbs E27 (4 pack)", 12.90),
        ("desk-lamp-led", "LED desk lamp", 39.90),
        ("floor-lamp-arc", "Arc floor lamp", 129.00),
        ("fairy-lights-10m", "Fairy lights 10 m", 14.90),
        ("smart-bulb-2", "Smart bulbs (2 pack)", 29.90),
        ("bedside-lamp", "Bedside lamp", 24.90),
    ),
    "garden-tools": (
        ("pruning-shears", "Pruning shears", 24.90),
        ("garden-hose-25m", "Garden hose 25 m", 34.90),
        ("garden-gloves", "Garden gloves", 9.90),
        ("trowel-steel", "Stainless steel trowel", 12.90),
        ("watering-can-10l", "Watering can 10 l", 16.90),
        ("rake-leaf", "Leaf rake", 19.90),
        ("wheelbarrow-90l", "Wheelbarrow 90 l", 89.00),
    ),
    "plants-seeds": (
        ("potting-soil-40l", "Potting soil 40 l", 8.90),
        ("herb-garden-kit", "Herb garden kit", 19.90),
        ("tomato-seeds", "Tomato seeds (3 varieties)", 4.90),
        ("plant-food-1l", "Liquid plant food 1 l", 7.90),
        ("lawn-seed-1kg", "Lawn seed 1 kg", 14.90),
        ("tulip-bulbs-25", "Tulip bulbs (25 pack)", 11.90),
        ("lavender-plant", "Lavender plant", 6.90),
    ),
    "fiction": (
        ("book-night-circus", "The Night Circus", 12.99),
        ("book-project-hail-mary", "Project Hail Mary", 14.99),
        ("book-remains-of-the-day", "The Remains of the Day", 10.99),
        ("book-piranesi", "Piranesi", 11.99),
        ("book-circe", "Circe", 12.49),
        ("book-the-road", "The Road", 9.99),
        ("book-klara-and-the-sun", "Klara and the Sun", 13.99),
        ("book-a-gentleman-in-moscow", "A Gentleman in Moscow", 12.99),
    ),
    "cookbooks": (
        ("book-salt-fat-acid-heat", "Salt, Fat, Acid, Heat", 29.99),
        ("book-weeknight-pasta", "Weeknight Pasta", 19.99),
        ("book-plenty", "Plenty: vegetarian recipes", 24.99),
        ("book-bread-baking", "Bread Baking at Home", 22.99),
        ("book-one-pot", "One Pot Dinners", 17.99),
        ("book-curry-kitchen", "The Curry Kitchen", 21.99),
    ),
    "travel-guides": (
        ("guide-japan", "Travel guide: Japan", 24.99),
        ("guide-italy", "Travel guide: Italy", 22.99),
        ("guide-portugal", "Travel guide: Portugal", 19.99),
        ("guide-iceland", "Travel guide: Iceland", 21.99),
        ("guide-scotland-hiking", "Hiking in Scotland", 18.99),
    ),
}

UNAVAILABLE = frozenset({"shoe-road-02", "tv-32-hd", "coffee-kenya-500g"})
"""Sold out or discontinued, yet in the history: one of them is a bestseller, so hiding matters."""

COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "running-shoes": ("running-clothes",),
    "tv": ("tv-accessories",),
    "coffee-machines": ("coffee",),
    "cookware": ("knives-utensils",),
    "printers": ("printer-ink",),
}
"""Category -> categories its buyers go on to buy from, days later."""
REPURCHASE_DAYS: dict[str, int] = {"coffee": 30, "tea": 40, "dog-food": 30, "printer-ink": 60}
"""Consumable category -> typical days between purchases; each user keeps a rhythm of +-15%."""

ONCE_PER_USER = frozenset({"running-shoes", "tv", "coffee-machines", "printers"})
"""Durables nobody buys twice within the history: one pair of shoes a season, one TV."""

QUANTITIES: dict[str, tuple[int, ...]] = {
    # drawn uniformly; every other category is bought one at a time
    "coffee": (1, 1, 1, 1, 2, 2, 3),
    "tea": (1, 1, 2, 3),
    "printer-ink": (1, 1, 1, 2),
    "snacks": (1, 1, 2, 4),
}


@dataclass(frozen=True)
class Persona:
    """An interest: the categories it browses (most viewed first) and the purchases it plans."""

    browses: tuple[str, ...]
    plans: tuple[tuple[str, float], ...]  # category, chance of buying from it
    share: float  # relative number of users with this interest


PERSONAS: dict[str, Persona] = {
    "runner": Persona(("running-shoes", "running-clothes", "fitness"), (("running-shoes", 0.75), ("fitness", 0.2)), 3),
    "coffee lover": Persona(("coffee", "coffee-machines", "snacks"), (("coffee", 0.85), ("coffee-machines", 0.3)), 3),
    "home cinema": Persona(("tv", "tv-accessories", "headphones"), (("tv", 0.6), ("headphones", 0.2)), 2),
    "cook": Persona(("cookware", "knives-utensils", "cookbooks"), (("cookware", 0.65), ("cookbooks", 0.3)), 2),
    "reader": Persona(
        ("fiction", "travel-guides", "cookbooks"), (("fiction", 0.8), ("fiction", 0.5), ("travel-guides", 0.35)), 2
    ),
    "gardener": Persona(("plants-seeds", "garden-tools"), (("plants-seeds", 0.7), ("garden-tools", 0.5)), 1.5),
    "dog owner": Persona(("dog-food", "dog-accessories"), (("dog-food", 0.85), ("dog-accessories", 0.5)), 1.5),
    "home office": Persona(
        ("printers", "printer-ink", "headphones", "lighting"),
        (("printers", 0.5), ("printer-ink", 0.3), ("headphones", 0.2)),
        1.5,
    ),
    "tea drinker": Persona(("tea", "snacks"), (("tea", 0.85), ("snacks", 0.4)), 1.5),
    "homebody": Persona(("bedding", "lighting"), (("bedding", 0.5), ("lighting", 0.4)), 1),
}
