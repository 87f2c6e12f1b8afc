"""The defect checker, one real example per kind: the post committed in notebook 05 before this
checker existed (embedded model, seed 7), and posts from the quality benchmark."""

import pytest

import blogneo
from blogneo.defects import KINDS, before_defects, find_defects, whole_words
from blogneo.text import clean_heading, clean_prose, clean_title, ends_sentence, sentence_ends, trim_to_sentence


def kinds(text, kind="prose", **kwargs):
    return [d.kind for d in find_defects(text, kind, **kwargs)]


@pytest.mark.parametrize("text", [
    "I'd like you to write a piece on the topic of biking to work, and why it matters to the people who do it.",
    "The blog posts that have been edited so far contain grammatical errors. Here is your rewritten version of them, "
    "which reads better.",
    "In conclusion, the article you just wrote shows that a bike is the best way to get to work in a busy city.",
    "Sure! Biking to work keeps me fit, saves money and lets me see the city wake up every single morning.",
    "As an AI language model, I do not ride a bike, but many people find that cycling to work is good for them.",
])
def test_meta_talk_is_found(text):
    assert "meta-talk" in kinds(text)


@pytest.mark.parametrize("text", [
    "<<the blog posts of the day>> Biking is a way of life for many people who live in a city and love it.",
    "Assistant: Biking is a way of life for many people who live in a city and love it every single day.",
    "Tags: biking, commute\nBiking is a way of life for many people who live in a city and love it daily.",
    "Biking to work is a joy for [insert your city here] and for anyone who likes fresh air in the morning.",
])
def test_template_and_chat_artifacts_are_found(text):
    assert "artifact" in kinds(text)


def test_headings_that_repeat_the_title_or_each_other_or_carry_another_items_number():
    title = "Why I Bike to Work: The Unsustainable Choice"
    assert kinds("Why I Bike to Work: The Unsustainable Choice", "heading", title=title) == ["title-repeated"]
    assert kinds("Why I Bike to Work", "heading", title=title) == ["title-repeated"]
    assert kinds("Choosing a bike", "heading", headings=("The morning ride", "Choosing a Bike")) == \
        ["duplicate-heading"]
    assert kinds("Why ride at all? 2", "heading") == ["heading-number"]
    assert kinds("The first week | 4. The 5 mistakes", "heading") == ["heading-number"]
    for fine in ("The 5 mistakes new riders make", "Tips for 2025", "What a flat tyre taught me",
                 "Rain, and how I ride in it"):
        assert kinds(fine, "heading", title=title) == [], fine


def test_a_byline_invented_in_a_title():
    assert kinds("Why I Bike to Work: The Unsustainable Choice by Chris Larkin", "title") == ["invented-author"]
    assert kinds("Ten Years of Cycling - Anna Smith", "title") == ["invented-author"]
    assert kinds("Stand by Me: Riding With a Friend", "title") == []


def test_prose_that_stops_mid_sentence_or_far_short_of_its_target():
    cut = "Baking bread takes patience, and the first loaf is rarely the best one, but it requires patience"
    assert kinds(cut) == ["unfinished"]
    assert kinds("Bread is good. I like it.") == ["too-short"]  # under 12 words
    short = "Bread takes patience. The dough must rest for an hour, and the oven must be very hot before it goes in."
    assert kinds(short, target_words=100) == ["too-short"]  # 22 words of 100 asked
    assert kinds(short, target_words=40) == []
    assert kinds("This post explores", "description") == ["unfinished", "too-short"]


def test_a_repetition_loop():
    loop = "I love my bike because it is fast. " * 5
    assert kinds(loop.strip()) == ["repetition"]


def test_each_defect_says_its_kind_part_and_where_it_is():
    text = "Cycling is great for your health and your wallet. Here is your rewritten version of the section."
    [defect] = find_defects(text, part="section 3")
    assert (defect.kind, defect.part) == ("meta-talk", "section 3")
    assert text[defect.where:].startswith("Here is your rewritten version")
    assert str(defect).startswith("section 3: meta-talk at 50: ")


def test_clean_text_has_no_defects_and_every_kind_is_documented():
    text = ("Riding to work changed my mornings. The air is cool, the streets are quiet, and I arrive awake "
            "instead of tired. It took a month to find the right route, but now I would not go back.")
    assert find_defects(text, target_words=40) == []
    for kind in KINDS:  # a structural check, named in the module's doc, or a kind of rules.toml
        assert kind in blogneo.defects.__doc__ or kind in {r.kind for r in blogneo.rules.load()}
    with pytest.raises(ValueError, match="kind="):
        find_defects("text", "paragraph")


def test_what_a_reader_found_in_a_post_the_checker_had_passed():
    # Notebook 05's post, read by a person after an earlier version of the checker passed it.
    assert "meta-talk" in kinds("Your entire message has been crafted by a creative mind, offering a mix of "
                                "personal reflection and engaging storytelling techniques.")
    assert "meta-talk" in kinds("Dear Sarah,\nI hope this message finds you well. I recently had the pleasure of "
                                "sharing a piece titled 'The Joy of Bike Riding'.")
    assert "meta-talk" in kinds("Your opinion piece highlights the importance of finding harmony within oneself "
                                "while engaging others through leisure activities.")
    assert "meta-talk" in kinds("I'm so glad you enjoyed our posts on the joys of biking! When I first started "
                                "blogging, I was passionate about cycling.")
    assert kinds("There's something special about enjoying your favorite sport with friends when you're",
                 "heading") == ["unfinished"]


def test_what_a_reader_found_in_the_quality_run_the_checker_had_passed():
    # benchmarks/post_quality.py's last run, read by a person: a review's section written as a letter,
    # and a listicle heading that carried its own description after a dash.
    letter = ("Dear Javierino,\n\nLisbon is a city of hills and light. The trams climb past tiled walls, and "
              "every viewpoint opens onto the river.\n\nBest regards,\nAna")
    assert kinds(letter).count("meta-talk") == 2  # the salutation and the sign-off
    assert "meta-talk" not in kinds("Dear readers of the world will know this city well, and its hills, and "
                                    "its trams.")  # not a salutation on a line of its own
    assert "heading-number" in kinds("Reasons to learn a second language - This is another easy topic", "heading")
    assert kinds("Why we learn - It opens doors", "heading") == ["heading-number"]
    assert kinds("Well-known reasons - and lesser ones", "heading") == []  # a dash inside a heading is fine
    assert clean_heading("Reasons to learn a second language - This is another easy topic") == \
        "Reasons to learn a second language"
    assert clean_heading("Step by step - it gets easier") == "Step by step"


def test_what_a_reader_found_in_the_next_quality_run():
    # The run after that scored 0 defects; read by a person, it still had chat replies to the person
    # asking, bracketed placeholders and hashtags. Each sentence here is from it, word for word.
    for text in ("I'm so glad you're enjoying my blog! Remember how I made sure to include this piece?",
                 "I'm glad to hear that you enjoyed our new course! Our instructor has always been passionate.",
                 "I'm so glad you reached out and I'd be delighted to share my experience of family video calls.",
                 "In light of your desire to enhance sleep hygiene practices, I've been reflecting on some habits.",
                 "I'm glad I could help you with your new electric kettle! This is definitely one to take for anyone.",
                 "I'm so glad we connected at this wonderful event! I'd be more than happy to share my life with you.",
                 "This can be rephrased as: \"A welcome to your daily shopping journey with us has just arrived!\"",
                 "I'm glad I could provide some valuable insights into your new electric kettle! May be this is just "
                 "what you were looking for.",
                 "\"Dear friends & family, I'm writing to provide you with some great reviews on my new book project "
                 "and I am excited to announce it."):
        assert "meta-talk" in kinds(text), text
    assert "meta-talk" in kinds("Welcome to our website", "heading")
    assert "meta-talk" in kinds("Welcome to my blog!", "heading")
    assert "meta-talk" in kinds("I'm so glad you're enjoying my new electric kettle! Check out my review here", "title")
    assert "artifact" in kinds("1. Sign up to receive daily updates from us via email at [YourEmail@blogger.com].")
    assert "artifact" in kinds("How-To: [Step]", "heading")
    assert "artifact" in kinds("How To Prepare For A Job Interview: The Ultimate Guide [#job_interview]", "title")
    assert "artifact" in kinds("If only this was more accessible for everyone who needs it. #FamilyVideoCall")
    # and what stays allowed: a friend's gladness in a story, C#, a numbered step, tags
    assert kinds("My sister said she was glad you came along, and so was I. We rode home in the rain together "
                 "and laughed the whole way.") == []
    assert "artifact" not in kinds("I learnt C# first, then Python, and the second was far kinder to a beginner.")
    assert kinds("cooking, kitchen tools, #budget", "tags") == []
    assert clean_heading("Mind-blowing facts - the short list") == "Mind-blowing facts - the short list"
    assert kinds("The joy of bike riding is undeniable; however it's also worth noting this", "heading") == \
        ["unfinished"]
    assert kinds("The year of journaling - July 2018 |", "heading") == ["unfinished"]  # notebook 07's first post
    assert kinds("Why I ride in the rain", "heading") == []


def test_what_a_reader_found_in_the_next_version_of_that_post():
    assert "meta-talk" in kinds("Your posting touches on the universal human quest for self-improvement through "
                                "enjoyment, which resonates deeply with me.")
    assert "invented-author" in kinds("The Joy of Bicycle Riding: Your Unique Ability is Key By: Emma Johnson "
                                      "You're on a journey of self-discovery every day.")
    assert "artifact" in kinds("1) Welcome to my blog, where I share the stories of my cycling adventures over "
                               "the years.")


def test_what_a_reader_found_in_the_posts_after_the_checker_was_done():
    # Read in benchmarks/post_quality.py's run after the first version of this checker: each
    # sentence passed it. "Reasons to learn a second language" and "The public transport of Lisbon".
    assert "meta-talk" in kinds("This text effectively conveys a message with clarity, enthusiasm, and humility, "
                                "which resonates with many readers who share the same passion.")
    assert "meta-talk" in kinds("Lisbon is an incredible destination. I am writing to provide you with all my "
                                "recommendations and reviews on how to visit this enchanting city.")
    assert "meta-talk" in kinds("I'm thrilled with all the amazing work you've done on our blog and I can only "
                                "imagine how proud my readers must be of their dedication.")
    assert "artifact" in kinds("The art of language education is not only related to linguistics.\n\n3)\nThis "
                               "connects languages to literature, poetry and music.")
    # Read in the run after that: posts that analyse a text instead of being one.
    assert "meta-talk" in kinds("\" The above text conveys the importance of immersing oneself in unfamiliar "
                                "cultures while also showcasing the flexibility of human nature.")
    assert "meta-talk" in kinds("This paragraph does not include bolded lines but instead uses sentence structure "
                                "which makes it easy readable and flows smoothly.")
    assert kinds("In this article", "heading") == ["meta-talk"]
    assert "meta-talk" in kinds("How does this text help you refine your writing? I'm here to provide you with "
                                "constructive feedback so we can get back on track effectively!")
    assert "meta-talk" not in kinds("I sent this text message to my mother, and this passage of the river is calm.")
    # and in the run after that
    assert "meta-talk" in kinds("Dear [Name],\n\nI am writing an official review of the city of Lisbon from the "
                                "perspective of your esteemed editors and artists.")
    assert "meta-talk" in kinds("The author uses descriptive language like 'bicycle' instead of traditional cars so "
                                "readers will be able to visualize themselves.")
    # and in notebooks 05 and 07 after that
    assert "meta-talk" not in kinds("\"Toast up your bike with the right tools. The ultimate step on this "
                                    "cycling journey is fixing your flat tyre yourself.\"\n\n"
                                    "Remember that every day we have little moments like these.")
    assert "meta-talk" not in kinds("\"Ride every day,\" my father said. He was right, and I still do it, even in the "
                                    "rain.\n\nThe second thing he taught me was to fix my own tyres.")
    assert "meta-talk" in kinds("I'm so glad I could reach out to you today! It's wonderful that you're sharing your "
                                "personal journey with writing through blogging.")
    # and what must still pass: a post may say "in this city, we..." or speak to its reader
    assert "meta-talk" not in kinds("In this city, we will find the best bread in the country, and you will too.")
    assert kinds("Take the tram to the castle: you will see the whole city from the walls.", target_words=15) == []


def test_what_a_reader_found_in_the_benchmarks_posts():
    assert kinds("Part 2", "heading") == ["artifact"] and kinds("Step 3", "heading") == ["artifact"]
    assert kinds("Step 3: oil the chain", "heading") == []
    assert "invented-author" in kinds("My name is Aria LaRosa, and I've dedicated myself to helping people run "
                                      "their first marathon.")


def test_a_paragraph_wrapped_in_quotes_is_unwrapped():
    from blogneo.text import clean_prose

    assert clean_prose('"Cycling to work keeps me fit and happy."') == "Cycling to work keeps me fit and happy."
    assert clean_prose('"Bridging the gap between sport and growth, I am excited.') == \
        "Bridging the gap between sport and growth, I am excited."
    assert clean_prose('She said "yes" and we rode on.') == 'She said "yes" and we rode on.'
    assert clean_prose('Cycling keeps me fit, and I love it."') == "Cycling keeps me fit, and I love it."


def test_what_a_reader_found_in_the_last_benchmark_run():
    text = ("Sleep is essential to overall health. This message conveys your idea clearly and concisely while being "
            "mindful of grammar errors, as you need help with editing written text after your last edit.")
    assert "meta-talk" in kinds(text)
    assert kinds("The unedited version", "heading") == ["meta-talk"]


def test_what_a_reader_found_after_the_chat_model_began_with_the_parts_heading():
    # A humorous how-to's introduction, a title cut off and doubled, and the openings that remained.
    intro = ("In this intro sentence, I've condensed the original text into just three paragraphs while "
             "maintaining the essence of the perfect gift concept.")
    assert kinds(intro).count("meta-talk") >= 2
    assert "meta-talk" in kinds("I'm so glad I could assist you with your culinary dreams! My kettle was amazing.")
    title = "The 50% OFF Meal Plan Wedding Wedding Planning Blog - The Perfect Way to"
    assert kinds(title, "title") == ["meta-talk", "unfinished", "repetition"]  # "Blog": a title about the writing
    assert kinds("Wedding Wedding Planning", "heading") == ["repetition"]
    # Not defects: the same words in a post's own voice.
    assert kinds("To start off my week, I ride to the market and back before work.") == []
    assert kinds("A Week of Cheap Dinners, Planned", "title") == []
    # From the run after that change.
    assert kinds("This story was written without any embellishment; however I am happy to help write another "
                 "concise piece which would be a more perfect fit into my previous message.").count("meta-talk") >= 1


def test_a_heading_the_model_put_first_in_its_part_is_dropped():
    # The section already has its heading; the model began "##### **...**" under it.
    text = '##### **"Welcome to your first electric kettle!"**\n\nIt boils a litre in two minutes. It is quiet too.'
    assert clean_prose(text) == "It boils a litre in two minutes. It is quiet too."
    assert clean_prose("# Only a heading") == ""
    assert clean_prose("Cycling is #1 for me. It is cheap.") == "Cycling is #1 for me. It is cheap."


def test_what_a_reader_found_in_the_run_with_placeholders_and_hashtags_stopped():
    section = ("Bridget Blackley (21 February 2019)\nThere's nothing quite like the rush you get from riding your "
               "bike through the woods with friends.")
    assert kinds(section) == ["invented-author"]
    assert "artifact" in kinds("Premise: Your personal experience with bicycles has inspired me to write this piece.")
    assert kinds("Lisbon: The City I Built For My Family (Premise)", "heading") == ["artifact"]
    # Not a byline: a date in the prose.
    assert kinds("We met Anna Smith in Lisbon on 21 February 2019, and she showed us the old trams.") == []


def test_what_a_reader_found_after_premise_was_banned():
    assert kinds("Premises: 35 days ago, I was tasked with a job that takes me across countries by bike.") == \
        ["artifact"]
    assert kinds("Awesome Review", "heading", headings=("Awesome Reviews",)) == ["duplicate-heading"]
    assert kinds("Glass Houses", "heading", headings=("Glass House Rules",)) == []


def test_what_a_reader_found_in_the_titles_and_outlines_of_sixty_posts():
    # Bylines and brackets the title rule missed, and a title that lost its topic.
    topic = "How to start a balcony herb garden"
    found = kinds("Begin Your Bamboo Garden - The Ultimate Guide by: Ariel Bloom (2019)", "title", topic=topic)
    assert found == ["artifact", "off-topic", "invented-author"]
    assert kinds("The Art of Bicycles and the Power of Commuting: A Blogging Guide by Alex", "title",
                 topic="Why I bike to work") == ["meta-talk", "off-topic", "invented-author"]
    assert kinds("The Uncanny Beauty of Owning a Dog by Daily Mail Reporter Liz Starr", "title") == ["invented-author"]
    assert kinds("How To Prepare For A Job Interview - The Ultimate Guide (Blog)", "title") == ["meta-talk", "artifact"]
    assert kinds("The Power of Home Cooking: Essential Recipes to Share With Your Kitchen Weddings &", "title") == \
        ["unfinished"]
    assert kinds("The City of Lost Dreams", "title", topic="Moving to a new city alone") == ["off-topic"]
    for fine in ("Moving to a New City on My Own", "Why I Bike to Work: The Unsustainable Future of Commuting"):
        assert kinds(fine, "title", topic="Moving to a new city alone" if "City" in fine else "Why I bike to work") \
            == [], fine
    assert kinds("Why I do it", "title", topic="Why I do it") == []  # a topic without key words: nothing to keep
    # A heading that carries the next item's number, and one that talks about the post.
    assert kinds("Planning a weekend with friends - Step 3", "heading") == ["heading-number"]
    assert kinds("Preparation: Step 2", "heading") == ["heading-number"]
    assert clean_heading("Planning a weekend with friends - Step 3") == "Planning a weekend with friends"
    assert clean_heading("Preparation: Step 2") == "Preparation"
    assert clean_heading("Review: The lid that leaks") == "The lid that leaks"  # a label, then the heading
    assert kinds("In this brief summary I will give you an overview", "heading") == ["meta-talk"]


def test_a_list_number_is_no_sentence_end_but_a_number_after_a_word_is():
    # A part cut back "to its last sentence" once kept a list's next number: "... **Espresso and Chili*  8." read as
    # whole, a list of names with no sentence in it passed as an introduction (the base-model stand-in, dev topics).
    names = "1. **Chicken and Waffles** (Bite On)\n2. **Espresso and Chili**  3. **Mini Barbecues** (Atop)\n4."
    assert trim_to_sentence(names) == names  # no sentence end at all: kept whole, and so it is unfinished
    assert "unfinished" in kinds(names)
    assert trim_to_sentence("1. Buy oats.\n2. Soak them.\n3.") == "1. Buy oats.\n2. Soak them."
    # a list begun at a sentence's end, going on at the next line: "4." is its item, not the sentence's last word
    assert trim_to_sentence("Rest is important too. 4. Eat well\n5. Read books\n6.") == "Rest is important too."
    for whole in ("I took up open-water swimming at 62.", "It should read Ryzen 7, not Ryzen 5.", "It cost £5.",
                  "My score: 8.", "I rated it - 9.", "We left on Dec. 24.", "I wore Chanel No. 5.", "See Fig. 3.",
                  "Step 1. Fill the tyre. Step 2.", "Proof: 2 + 2 = 4.", "We left on Dec. 23. We came back on Dec. 24.",
                  "See Fig. 2. Then see Fig. 3.", "My tips:\n1. Sleep.\n2. Water.\n\nHow many glasses a day? 2.",
                  "It dropped to -1. At night it hit  0."):
        assert ends_sentence(whole) and trim_to_sentence(whole + " And then") == whole, whole
    # the end of a longer text (the stop after the budget reads the last few tokens): its start is no line's start
    assert [m.end() for m in sentence_ends(" 62. And then", text_start=False)] == [4]
    assert sentence_ends(" 62. And then") == []  # a whole text that starts with "62." starts with a list's number


def test_a_label_before_a_line_of_prose_is_dropped_and_its_text_kept():
    text = ("SpecterOnline is a great place to learn the guitar.\nPremises: SpecterOnline has something new every "
            "day, from classes taught by experts to songs for beginners.")
    assert "artifact" in kinds(text)
    cleaned = clean_prose(text)
    assert cleaned == ("SpecterOnline is a great place to learn the guitar.\nSpecterOnline has something new every "
                       "day, from classes taught by experts to songs for beginners.")
    assert kinds(cleaned) == []
    assert clean_prose("Summary of the week: it rained.") == "Summary of the week: it rained."  # not a label
    # The next item's number, with no item after it, at a part's end: "3." is no sentence's end, so it is unfinished
    text = "A warm bath an hour before bed helps me wind down. So does a book.\n\n3."
    assert kinds(text) == ["artifact", "unfinished"]
    assert clean_prose(text) == "A warm bath an hour before bed helps me wind down. So does a book."
    assert clean_prose("Three steps:\n1. Wake early.\n2. Walk.") == "Three steps:\n1. Wake early.\n2. Walk."


def test_what_a_reader_found_in_the_run_with_titles_kept_on_topic():
    assert kinds("How To Fix Your Flat Bicycle Tyres - A Step-By-Step Guide by BikeBiker!", "title") == \
        ["invented-author"]
    for heading in ("This is an awesome article about learning guitar online!", "What is your goal for this blog?",
                    "Welcome"):
        assert kinds(heading, "heading") == ["meta-talk"], heading
    for fine in ("Starting a food blog", "The post office on Rua Augusta", "Welcoming a new dog home"):
        assert kinds(fine, "heading") == [], fine
    assert "meta-talk" in kinds("I have included all those details because you need them, not just for your readers.")
    assert kinds("My blog of choice for recipes is a small one, run by a baker in Porto who posts daily.") == []


def test_what_a_reader_found_in_the_outlines_of_the_run_at_035_defects_per_post():
    # Headings the checker had passed: a request's fields, chat questions, the writer speaking, instructions.
    for heading, kind in (("Purpose: To encourage people to take action for better health", "artifact"),
                          ("Audience: The audience is likely readers who support active lifestyles", "artifact"),
                          ("Topic: Health benefits of regular exercise", "artifact"),
                          ("What is your opinion on this topic?", "meta-talk"),
                          ("What's on your mind?", "meta-talk"),
                          ("Is there something else you'd like more information about?", "meta-talk"),
                          ("I'm going to write you something nice today", "meta-talk"),
                          ("I'm excited to share my favorite story", "meta-talk"),
                          ("Provide step by step instructions on starting your own garden", "meta-talk"),
                          ("Finish with a summary of everything you've shared so far", "meta-talk"),
                          ("How to do it! - Step #2", "heading-number"),
                          ("1. What comes first", "heading-number"),
                          ("20 minutes", "artifact"), ("3:56pm", "artifact"),
                          ("The journey will always be worth", "unfinished"),
                          ("It was hard. But it made me", "unfinished"),
                          ("An Awesome Reviews", "title-repeated"), ("Awesome Reviews", "title-repeated"),
                          ("I am pleased with my previous day's work", "meta-talk"),
                          ("The new electric kettle you're talking about is quite impressive!", "meta-talk"),
                          ("What?", "artifact"), ("Where?", "artifact")):
        assert kind in kinds(heading, "heading", title="Awesome Review - An Honest Review on Learning Guitar Online"), \
            heading
    # Headings a post may have: the same words in a section's own sense.
    for fine in ("Choose your first guitar", "Give your plants morning sun", "What do you need to start?",
                 "Why it's worth it", "Ten minutes a day", "Share the load with a partner", "Is it worth the price?",
                 "What it's all about", "Review the costs", "Reviews I trust", "Set your goals"):
        assert kinds(fine, "heading", title="Awesome Review - An Honest Review on Learning Guitar Online") == [], fine
    # In prose, the writer speaking to the person asking.
    for sentence in ("I'm going to write you something nice today, about the library on my street.",
                     "You just want a good kettle. Well I'm here to help it be yours!",
                     "Thank you so much for this amazing idea that can be lifesaving but also very expensive."):
        assert "meta-talk" in kinds(sentence), sentence
    assert kinds("Thank you for the music, the old band played, and the whole square sang along with them.") == []
    assert clean_heading("Purpose: To encourage people to take action") == ""  # a request field is no heading
    assert clean_heading("How to do it! - Step #2") == "How to do it!"
    assert clean_heading("1. What comes first") == "What comes first"
    assert clean_heading("What is your goal for this blog? How do you want") == "What is your goal for this blog?"
    assert clean_heading("Guide: How to plan the week") == "How to plan the week"
    assert clean_heading("A day in St. Louis") == "A day in St. Louis"  # an abbreviation ends no sentence
    # A heading that is a sentence is cut before its last connector that leaves it 10 words or fewer.
    assert clean_heading("The story begins with baking bread to fuel my family's passion") == \
        "The story begins with baking bread"
    assert clean_heading("In today's world remote work has transformed industries to create new jobs") == \
        "In today's world remote work has transformed industries"
    assert clean_heading("A Wonderful Review | Awesome Reviews for Beginners on Guitar Learning") == \
        "A Wonderful Review"
    assert kinds("A day in St. Louis", "heading") == []
    # A heading that ran on past a dash keeps what came before it.
    assert clean_heading("Begin by selecting a location for your garden - whether it's") == \
        "Begin by selecting a location for your garden"
    assert clean_heading("Well-known reasons - and lesser ones") == "Well-known reasons - and lesser ones"



def test_what_a_reader_found_in_the_run_at_015_defects_per_post():
    assert kinds("The Ultimate Beginner Guide to Starting a Vast Garden of Bloomed Bloomers - How", "title") == \
        ["unfinished"]
    assert kinds("Here's How", "title") == []  # a question word ends a title well enough without a dash before it
    assert kinds("Tools Every Handy Home Cook Should", "heading") == ["unfinished"]
    assert kinds('Preview: "Preheat your oven', "heading") == ["artifact"]
    assert kinds('Why "slow" cooking wins', "heading") == []
    assert kinds("A special thanks to the author for their dedication", "heading") == ["meta-talk"]
    assert kinds("In addition", "heading") == ["artifact"]
    # Notebook 05's post opened a section so: the writer talking about its own post.
    assert "meta-talk" in kinds("Admirable as the title suggests, it is hard to ignore that cycling brings joy.")
    assert kinds("In addition to the bike", "heading") == []
    # A part that opens a list with "1)" was an artifact; in Markdown's own spelling it is a list.
    text = "1) Water the plants a little each day.\n\n2) Feed them once a month, no more than that."
    assert "artifact" in kinds(text)
    assert clean_prose(text) == text.replace(")", ".")
    assert kinds(clean_prose(text), target_words=20) == []


def test_what_a_reader_found_in_the_run_at_015_that_no_rule_had_named():
    # Tags: words run together, fragments, and tags from an editing chat on a guitar review.
    bike = {"title": "How to Fix a Flat Bicycle Tyre", "topic": "How to fix a flat bicycle tyre"}
    assert kinds("bicyclesettingtyres, flat tyre, cycling", "tags", **bike) == ["artifact"]
    assert kinds("homecooking, kitchen", "tags", title="Tools for home cooking") == ["artifact"]
    assert kinds("why, als g, sleep", "tags", topic="Habits that help me sleep better") == ["artifact", "artifact"]
    guitar = {"title": "Strings Attached", "topic": "An honest review of learning guitar online"}
    assert kinds("guitar, grammar, editing", "tags", **guitar) == ["off-topic", "off-topic"]
    assert kinds("music, writing, style", "tags", **guitar) == ["off-topic", "off-topic"]  # the next run's
    assert kinds("style, fashion", "tags", topic="Finding my own style at forty") == []
    # and what stays allowed: long words, short well-known ones, and writing tags on a post about writing
    assert kinds("entrepreneurship, 3d printing, ai, tv shows", "tags", topic="Side projects") == []
    assert kinds("blogging, writing tips", "tags", topic="How to start a blog about writing") == []
    # Prose in a chat reply's voice, and a note about the title.
    assert "meta-talk" in kinds("I'm sorry to hear that you're having trouble finding the right person to talk to.")
    assert "meta-talk" in kinds("I'm glad I could mention this because the text has been a long time in the making.")
    assert "meta-talk" in kinds("This post is titled Moving On, and it is about the first week in a new city.")
    assert "meta-talk" in kinds("This is an excellent piece that demonstrates how music can be both fun and hard.")
    assert kinds("It is a great piece of advice: tune the guitar before every single lesson you take.") == []
    # an editor's notes: two sections of the paper-notebook review, kept as a clean start before these rules
    assert "meta-talk" in kinds("In this warm and caring message, I've added the word 'admire' to describe the "
                                "reader who feels so joyfully touched by something they love.")
    assert "meta-talk" in kinds("Sentence from the beginning with an apostrophe is not correct; it should be 'There' "
                                "instead of 'They're', and you have two vowels.")
    assert kinds("I've changed my morning routine since the move, and I've added a walk before breakfast.") == []
    # the next run, read by a person: descriptions about the writer's work or its readers...
    assert "meta-talk" in kinds("This post is about an exceptional electric kettle review that I've been working on "
                                "for a while now and it's going to be my final entry into this new series.",
                                "description")
    assert "meta-talk" in kinds("This post is about baking sourdough bread with a personal story that I'm sure "
                                "readers will love.", "description")
    assert kinds("This post is about the garden shed I've been working on all summer, one board at a time.",
                 "description") == []
    assert "meta-talk" in kinds("The above message is one that has been shared on our blog over the past few weeks "
                                "and I am thrilled to share this with everyone here at the blog.")
    assert kinds("The following morning, the note on the fridge said that the bread was ready to bake.") == []
    # ...and headings that describe the text or ask the reader to write
    for heading in ("A bicycle is mentioned as a mode for transportation", "In this anecdote", "The main idea",
                    "The story begins with a personal anecdote about commutes",
                    "It's time for you to share your own stories"):
        assert "meta-talk" in kinds(heading, "heading"), heading
    for heading in ("The main ideas behind a tubeless tyre", "What my first marathon taught me"):
        assert kinds(heading, "heading") == [], heading
    assert "meta-talk" in kinds("I'm sorry to inform you that I am unavailable on the regular basis, as agreed.")
    assert kinds("I was sorry to see the old shop close, since it had sold my first bicycle years ago.") == []
    assert kinds("Tap the text box, type a short hello, and press send when you are ready to go.") == []
    # A heading that talks to the reader about the post.
    assert kinds("This is your first product review", "heading") == ["meta-talk"]
    assert kinds("Your first ride to work", "heading") == []
    # Notebook 05's post opened a section with a line in emphasis, a second heading under its own.
    text = "*About the World*\n\nThe world is wide, and a bicycle shows more of it than a car window does."
    assert kinds(text) == ["artifact"]
    assert clean_prose(text) == text.split("\n\n")[1]
    opening = "*I never looked back.*\n\nThe first week was hard, but by the second the ride felt like mine."
    assert clean_prose(opening) == opening and kinds(opening) == []


def test_a_title_too_long_is_named_not_cut():
    # clean_title cut titles at 14 words, and "... from the Unwritten Pages of a Blogging" read as whole.
    title = "The Year of Journaling: A Personal Story from the Unwritten Pages of a Blogging Life"
    assert clean_title(title) == title
    assert kinds(title, "title") == ["meta-talk", "too-long"]  # and it is about blogging
    assert kinds("The Year of Journaling: A Journey Through Self-Reflection and Personal Growth", "title") == []


def test_tags_run_together_are_found_with_the_tokenizers_whole_words(tiny):
    # What the embedded model wrote as tags, each a word its tokenizer does not know whole, made of ones it does.
    known = frozenset({"job", "sharing", "learning", "bake", "self", "selling", "pet", "care", "interviewing"})
    assert kinds("jobsharing, interviewing, petcare", "tags", vocabulary=known) == ["artifact", "artifact"]
    assert kinds("learningtobake, selfselling", "tags", vocabulary=known) == ["artifact", "artifact"]
    # A word of the title or topic is whole however it splits; without the vocabulary, "petcare" is not seen.
    assert kinds("sourdough", "tags", topic="Baking sourdough", vocabulary=frozenset({"sour", "dough"})) == []
    assert kinds("petcare, interviewing", "tags") == []
    # A real tokenizer's whole words: the tiny GPT-Neo's byte-level BPE marks them with "Ġ".
    words = whole_words(tiny.tokenizer)
    assert "the" in words and all(w.isalpha() and w == w.lower() for w in words)
    assert whole_words(None) == frozenset()


def test_a_tag_about_the_writing_is_found_with_a_vocabulary_too():
    # The vocabulary knows "grammar" as a word: that makes it no less a tag from an editing chat on a kettle review.
    known = frozenset({"grammar", "editing", "writing", "style"})
    kettle = {"title": "Your First Electric Kettle Review", "topic": "Reviewing my first electric kettle"}
    assert kinds("editing, grammar, writing style, kettle", "tags", vocabulary=known, **kettle) == ["off-topic"] * 3
    # a topic's words that name no subject, which the writer once added when the model's tags fell short
    assert kinds("kindness, every", "tags", topic="Why every town needs a public library") == ["artifact"]
    assert kinds("nobody, better", "tags") == ["artifact", "artifact"]


def test_what_a_reader_found_in_notebook_05s_post_after_the_tag_rules():
    # Its title was about blogging, on a post about biking; a post about blogging may say so.
    assert kinds("The Joy of Bike Riding: A Blogging Guide", "title", topic="Why I bike to work") == ["meta-talk"]
    assert kinds("Ten Years of Blogging", "title", topic="What ten years of blogging taught me") == []
    # Its third section was one item cut from a longer list.
    text = "2. **Choose High Performance Bikes** - These are the best thing ever! They have extra gears, a fast ride."
    assert kinds(text) == ["artifact"]
    steps = "1. Pump the tyre to the pressure on its side.\n2. Check it again the next morning, before you ride."
    assert kinds(steps) == []


def test_what_a_reader_found_in_the_run_after_the_tag_rules():
    # The paper-notebook review: junk lines inside a section, and an article about something else.
    junk = ("It brings to life something new every single day.\n\n5/8th Edition  23 pages   \n"
            "Sierra Earth Daily  7.9% off at all price ranges  \nYour money's worth it!")
    assert kinds(junk) == ["unfinished"]
    # The guitar review: a byline and a news dateline in a section, and tags from an editing chat.
    story = ("By . Jessica Chen\nLONDON (BBC) \u2013 The UK's top music magazine has revealed a new venture, "
             "called The World Beat Magazine, this week.")
    assert kinds(story) == ["invented-author", "invented-author", "unfinished"]  # the byline, the dateline
    guitar = {"title": "Awesome Review - An Honest Review on Learning Guitar Online",
              "topic": "An honest review of learning guitar online"}
    assert kinds("constructive editing, grammar correction, awesome", "tags", **guitar) == \
        ["artifact", "off-topic", "off-topic"]
    # and what stays allowed: a line that opens a list, a list, and a Markdown line break after a whole sentence
    steps = "You need three things:\n- a pump\n- two tyre levers\n- a patch kit\n\nThen take the wheel off the bike."
    assert kinds(steps) == []
    assert kinds("We rode home in the rain.  \nNobody minded, and the tea was hot when we got in.") == []


def test_the_clean_start_of_a_part_is_its_whole_sentences_before_the_first_blocking_defect():
    # From the quality run's paper-notebook review, whose sections 1 and 3 were left empty: each
    # candidate drifted, into junk lines or a chat reply, after sentences a reader would keep.
    drifted = ("In the realm of creativity, no device offers what a paper notebook does. It brings something new "
               "every day, and it never needs charging.\n5/8th Edition  23 pages\nBuy it now.")
    found = find_defects(drifted)
    assert [d.kind for d in found] == ["boilerplate", "unfinished"]  # "Buy it now.", a line cut
    assert before_defects(drifted, found) == ("In the realm of creativity, no device offers what a paper notebook "
                                              "does. It brings something new every day, and it never needs charging.")
    chat = "I'm sorry to hear that you're having trouble with your notebook. Paper is calm."
    assert before_defects(chat, find_defects(chat)) == ""  # the defect opens it: nothing to keep
    midway = "Paper is calm and it never pings, which I'm glad I could mention because the text has been praised."
    assert before_defects(midway, find_defects(midway)) == ""  # no whole sentence before it
    short = "Paper is calm. It never pings."
    assert before_defects(short, find_defects(short, target_words=100)) == short  # too-short does not block


def test_a_list_counts_up_at_each_depth_and_code_and_bold_are_read_as_markdown():
    # From tests/data/rules_dev (dev text) and a review: numbers that repeat or jump are debris, and are found where
    # they are, so the clean start before them is kept; a nested list, a list begun again after other text, a
    # closed code block and inline code are whole things a blogger writes.
    def where(text):
        return [(d.where, d.excerpt) for d in find_defects(text) if d.kind == "artifact"]

    assert where("1. Preheat the oven.\n1. Mix the dry ingredients.\n1. Fold in the eggs.") == \
        [(21, "item 1 after item 1")]
    assert where("1. Choose a domain.\n2. Pick a host.\n5. Install WordPress.") == [(36, "item 5 after item 2")]
    twice = "1. Stir the sauce well.\n2. Let it rest.\nLater:\n1. Stir the sauce well.\n1. Stir the sauce well."
    assert where(twice) == [(71, "item 1 after item 1")]
    assert before_defects(twice, find_defects(twice)) == twice[:70]  # not cut at the first line that reads alike
    for fine in ["My plan:\n1. Prep:\n   1. Wash the leeks.\n   2. Chop them.\n2. Cook them slowly.",
                 "Mix first:\n1. Flour.\n2. Salt.\n\nThen the wet things, in a second bowl:\n\n1. Eggs.\n2. Milk.",
                 "Part one is done.\n\n***\n\nPart two starts here, a week later.",
                 "In Python, `2**10` is 1024, and `**kwargs` takes the rest.",
                 "I run this every morning:\n```bash\ngit pull --rebase\n```\nIt keeps my branch current.",
                 "To greet someone:\n```python\nprint(f\"Hello {name}\")\n```"]:
        assert where(fine) == [] and "unfinished" not in [d.kind for d in find_defects(fine)], fine
    assert where("** The secret to fluffy pancakes is not overmixing the batter.") == [(0, "bold never closed")]
    assert where("In this post we'll look at how {topic} can help you save money.") == [(31, "{topic}")]
